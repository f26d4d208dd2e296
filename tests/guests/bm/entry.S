/* ferry-bm: multiboot (v1) entry point.
 *
 * QEMU's multiboot loader (-kernel, or libvirt <os><kernel>) enters here in
 * 32-bit protected mode, paging off, interrupts off, with
 * %eax = 0x2BADB002 and %ebx = physical address of the multiboot info.
 * The header lives in its own section that the linker script places first,
 * so it sits well inside the first 8 KiB of the file as multiboot requires. */

#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000002 /* bit 1: we want mem_lower/mem_upper */

        .section .multiboot, "a"
        .balign 4
        .long MB_MAGIC
        .long MB_FLAGS
        .long -(MB_MAGIC + MB_FLAGS)

        .text
        .globl _start
        .type _start, @function
_start:
        cli
        cld
        mov $stack_top, %esp
        xor %ebp, %ebp
        push %ebx                   /* arg 2: multiboot info pointer */
        push %eax                   /* arg 1: bootloader magic */
        call bm_main
1:      hlt
        jmp 1b
        .size _start, . - _start

        .bss
        .balign 16
        .space 16384
stack_top:

        .section .note.GNU-stack, "", @progbits
