/* check_domxml.c — domain XML inspection: good, malformed, huge, missing elements. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "check_common.h"
#include "domxml.h"

static const char good_xml[] =
    "<domain type='kvm'>\n"
    "  <name>vm1</name>\n"
    "  <uuid>4DEA22B3-1D52-D8F3-2516-782E98AB3FA0</uuid>\n"
    "  <memory unit='MiB'>256</memory>\n"
    "  <devices>\n"
    "    <disk type='file' device='disk'>\n"
    "      <driver name='qemu' type='qcow2' cache='none'/>\n"
    "      <source file='/shared/vm1.qcow2'/>\n"
    "      <target dev='vda' bus='virtio'/>\n"
    "    </disk>\n"
    "    <disk type='block' device='cdrom'>\n"
    "      <source dev='/dev/sr0'/><target dev='hdc'/><readonly/>\n"
    "    </disk>\n"
    "  </devices>\n"
    "</domain>\n";

/* fsync() of this program: fails with EIO while fsync_fails is set (the
 * library is linked in statically, so domxml.c calls this one). */
static bool fsync_fails;

int
fsync(int fd)
{
    if (fsync_fails) {
        errno = EIO;
        return -1;
    }
    return (int)syscall(SYS_fsync, fd);
}

static int
open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;

    ck_assert_ptr_nonnull(d);
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

static domxml *
parse_ok(const char *xml)
{
    domxml *d = NULL;
    ferry_error *err = NULL;

    ck_assert_msg(domxml_parse(xml, strlen(xml), "test", &d, &err) == 0, "%s",
                  error_message(err));
    return d;
}

static void
parse_bad(const char *xml, int code, const char *want)
{
    domxml *d = NULL;
    ferry_error *err = NULL;

    ck_assert_int_eq(domxml_parse(xml, strlen(xml), "config 'x'", &d, &err), code);
    ck_assert_ptr_null(d);
    ck_assert_msg(strstr(error_message(err), want), "'%s' lacks '%s'", error_message(err), want);
    error_free(err);
}

START_TEST(test_good)
{
    domxml *d = parse_ok(good_xml);
    const struct domxml_disk *disk = NULL;

    ck_assert_str_eq(domxml_name(d), "vm1");
    ck_assert_str_eq(domxml_uuid(d), "4dea22b3-1d52-d8f3-2516-782e98ab3fa0");
    ck_assert_str_eq(domxml_type(d), "kvm");
    ck_assert_int_eq(domxml_memory_kib(d), 256 * 1024);
    ck_assert_str_eq(domxml_text(d), good_xml);
    ck_assert_int_eq(domxml_disk_count(d), 2);
    disk = domxml_disk(d, 0);
    ck_assert_str_eq(disk->source, "/shared/vm1.qcow2");
    ck_assert_str_eq(disk->cache, "none");
    ck_assert_str_eq(disk->target, "vda");
    ck_assert_str_eq(disk->device, "disk");
    ck_assert(!disk->readonly);
    disk = domxml_disk(d, 1);
    ck_assert_str_eq(disk->source, "/dev/sr0");
    ck_assert_str_eq(disk->device, "cdrom");
    ck_assert(disk->readonly);
    ck_assert_ptr_null(disk->cache);
    ck_assert_ptr_null(domxml_disk(d, 2));
    domxml_free(d);
}
END_TEST

START_TEST(test_minimal)
{
    domxml *d = parse_ok("<domain><name>a</name></domain>");

    ck_assert_str_eq(domxml_name(d), "a");
    ck_assert_ptr_null(domxml_uuid(d));
    ck_assert_ptr_null(domxml_type(d));
    ck_assert_int_eq(domxml_memory_kib(d), 0);
    ck_assert_int_eq(domxml_disk_count(d), 0);
    domxml_free(d);
}
END_TEST

START_TEST(test_memory_units)
{
    domxml *d = parse_ok("<domain><name>a</name><memory>65536</memory></domain>");

    ck_assert_int_eq(domxml_memory_kib(d), 65536);
    domxml_free(d);
    d = parse_ok("<domain><name>a</name><memory unit='GiB'>2</memory></domain>");
    ck_assert_int_eq(domxml_memory_kib(d), 2 * 1024 * 1024);
    domxml_free(d);
    d = parse_ok("<domain><name>a</name><memory unit='b'>1048576</memory></domain>");
    ck_assert_int_eq(domxml_memory_kib(d), 1024);
    domxml_free(d);
}
END_TEST

static uint64_t
memory_of(const char *unit, const char *amount)
{
    char xml[256];
    domxml *d = NULL;
    uint64_t kib = 0;

    snprintf(xml, sizeof(xml), "<domain><name>a</name><memory unit='%s'>%s</memory></domain>",
             unit, amount);
    d = parse_ok(xml);
    kib = domxml_memory_kib(d);
    domxml_free(d);
    return kib;
}

static void
memory_bad(const char *unit, const char *amount)
{
    char xml[256];

    snprintf(xml, sizeof(xml), "<domain><name>a</name><memory unit='%s'>%s</memory></domain>",
             unit, amount);
    parse_bad(xml, FERRY_E_XML, "is not a size");
}

/* libvirt's virScaleInteger: b/byte/bytes; k, m, g, t, p, e alone or with
 * "iB" are powers of 1024, with "B" powers of 1000; case does not matter.
 * Memory is rounded up to whole KiB. */
START_TEST(test_memory_units_libvirt)
{
    ck_assert_uint_eq(memory_of("g", "2"), 2ULL << 20);
    ck_assert_uint_eq(memory_of("mib", "512"), 512ULL << 10);
    ck_assert_uint_eq(memory_of("MIB", "512"), 512ULL << 10);
    ck_assert_uint_eq(memory_of("m", "512"), 512ULL << 10);
    ck_assert_uint_eq(memory_of("KB", "2048"), 2000);
    ck_assert_uint_eq(memory_of("kb", "2048"), 2000);
    ck_assert_uint_eq(memory_of("K", "7"), 7);
    ck_assert_uint_eq(memory_of("KiB", "7"), 7);
    ck_assert_uint_eq(memory_of("", "7"), 7);          /* no unit: KiB */
    ck_assert_uint_eq(memory_of("bytes", "2048"), 2);
    ck_assert_uint_eq(memory_of("Bytes", "2048"), 2);
    ck_assert_uint_eq(memory_of("byte", "2048"), 2);
    ck_assert_uint_eq(memory_of("B", "2048"), 2);
    ck_assert_uint_eq(memory_of("b", "1"), 1);        /* rounded up, as libvirt does */
    ck_assert_uint_eq(memory_of("MB", "1"), 977);      /* 1000000 / 1024, rounded up */
    ck_assert_uint_eq(memory_of("GB", "1"), 976563);
    ck_assert_uint_eq(memory_of("t", "1"), 1ULL << 30);
    ck_assert_uint_eq(memory_of("TB", "1"), 976562500);
    ck_assert_uint_eq(memory_of("p", "1"), 1ULL << 40);
    ck_assert_uint_eq(memory_of("PiB", "1"), 1ULL << 40);
    ck_assert_uint_eq(memory_of("PB", "1"), 976562500000ULL);
    ck_assert_uint_eq(memory_of("e", "1"), 1ULL << 50);
    ck_assert_uint_eq(memory_of("EB", "1"), 976562500000000ULL);
    /* not sizes: unknown units, negative or signed amounts, overflow */
    memory_bad("kibibytes", "1");
    memory_bad("x", "1");
    memory_bad("KiBB", "1");
    memory_bad("KiB", "-1");
    memory_bad("KiB", "+1");
    memory_bad("KiB", "1 2");
    memory_bad("KiB", "0x10");
    memory_bad("KiB", "18446744073709551615");
    memory_bad("e", "8");
    memory_bad("TiB", "9000000");
}
END_TEST

START_TEST(test_malformed)
{
    parse_bad("<domain><name>a</name>", FERRY_E_XML, "is not well-formed XML");
    parse_bad("", FERRY_E_XML, "not well-formed");
    parse_bad("not xml at all", FERRY_E_XML, "not well-formed");
    parse_bad("<domain><name>a</nam></domain>", FERRY_E_XML, "line 1");
}
END_TEST

START_TEST(test_missing_elements)
{
    parse_bad("<network><name>a</name></network>", FERRY_E_XML, "root element is <network>");
    parse_bad("<domain type='kvm'></domain>", FERRY_E_XML, "has no <name>");
    parse_bad("<domain><name>   </name></domain>", FERRY_E_XML, "has no <name>");
    parse_bad("<domain><name>a/b</name></domain>", FERRY_E_XML, "not a valid domain name");
    /* libvirt keeps a name as written: ferry would look for another domain */
    parse_bad("<domain><name> vm1 </name></domain>", FERRY_E_XML, "white space around it");
    parse_bad("<domain><name>vm1\n</name></domain>", FERRY_E_XML, "white space around it");
    parse_bad("<domain><name>v\nm1</name></domain>", FERRY_E_XML, "line break in it");
    parse_bad("<domain><name>a</name><uuid>xyz</uuid></domain>", FERRY_E_XML, "is not a UUID");
    parse_bad("<domain><name>a</name><memory unit='parsec'>1</memory></domain>", FERRY_E_XML,
              "is not a size");
    parse_bad("<domain><name>a</name><memory>lots</memory></domain>", FERRY_E_XML,
              "is not a size");
}
END_TEST

START_TEST(test_no_network_no_entities)
{
    /* an external entity must be neither fetched nor expanded */
    const char *xml =
        "<?xml version='1.0'?>\n"
        "<!DOCTYPE domain [<!ENTITY x SYSTEM 'file:///etc/shadow'>]>\n"
        "<domain><name>a&x;</name></domain>";
    domxml *d = NULL;
    ferry_error *err = NULL;

    if (domxml_parse(xml, strlen(xml), "t", &d, &err) == 0) {
        ck_assert_ptr_null(strstr(domxml_name(d), "root:"));
        domxml_free(d);
    }
    error_free(err);
}
END_TEST

START_TEST(test_huge)
{
    size_t len = DOMXML_MAX_BYTES + 16;
    char *big = malloc(len + 1);
    domxml *d = NULL;
    ferry_error *err = NULL;

    ck_assert_ptr_nonnull(big);
    memset(big, ' ', len);
    memcpy(big, "<domain>", 8);
    big[len] = '\0';
    ck_assert_int_eq(domxml_parse(big, len, "big", &d, &err), -EFBIG);
    ck_assert_ptr_nonnull(strstr(error_message(err), "refused"));
    error_free(err);
    free(big);
}
END_TEST

START_TEST(test_files)
{
    char dir[] = "/tmp/check_domxml.XXXXXX";
    char path[256];
    char bigpath[256];
    domxml *d = NULL;
    ferry_error *err = NULL;
    FILE *f = NULL;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/vm1.xml", dir);
    snprintf(bigpath, sizeof(bigpath), "%s/big.xml", dir);

    /* missing */
    ck_assert_int_eq(domxml_load_file(path, &d, &err), -ENOENT);
    ck_assert_ptr_nonnull(strstr(error_message(err), "cannot be read"));
    err = error_free(err);
    /* a directory */
    ck_assert_int_eq(domxml_load_file(dir, &d, &err), -EISDIR);
    err = error_free(err);
    /* good */
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(good_xml, f);
    fclose(f);
    ck_assert_int_eq(domxml_load_file(path, &d, &err), 0);
    ck_assert_str_eq(domxml_name(d), "vm1");
    d = domxml_free(d);
    /* too big */
    f = fopen(bigpath, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(ftruncate(fileno(f), DOMXML_MAX_BYTES + 1), 0);
    fclose(f);
    ck_assert_int_eq(domxml_load_file(bigpath, &d, &err), -EFBIG);
    err = error_free(err);

    unlink(path);
    unlink(bigpath);
    rmdir(dir);
}
END_TEST

static char *
slurp(const char *path)
{
    static char buf[8192];
    FILE *f = fopen(path, "r");
    size_t n = 0;

    ck_assert_ptr_nonnull(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

START_TEST(test_write_file)
{
    char dir[] = "/tmp/check_domxml.XXXXXX";
    char path[128];
    char changed[1024];
    struct stat st;
    ferry_error *err = NULL;
    FILE *f = NULL;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/vm1.xml", dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("<!-- the operator's own file -->\n", f);
    fputs(good_xml, f);
    fclose(f);
    ck_assert_int_eq(chmod(path, 0640), 0);

    /* not XML, another name, another UUID: the file stays as it was */
    ck_assert_int_eq(domxml_write_file(path, "<domain", "vm1", NULL, &err), FERRY_E_XML);
    err = error_free(err);
    ck_assert_int_eq(domxml_write_file(path, "<domain><name>vm2</name></domain>", "vm1", NULL, &err),
                     FERRY_E_XML);
    ck_assert_ptr_nonnull(strstr(error_message(err), "names domain 'vm2'"));
    err = error_free(err);
    ck_assert_int_eq(domxml_write_file(path, good_xml, "vm1",
                                       "00000000-1111-2222-3333-444444444444", &err), FERRY_E_XML);
    err = error_free(err);
    ck_assert_ptr_nonnull(strstr(slurp(path), "the operator's own file"));

    /* a good one replaces it, mode kept, no temporary file left */
    snprintf(changed, sizeof(changed), "%s", good_xml);
    memcpy(strstr(changed, "256"), "512", 3);
    ck_assert_int_eq(domxml_write_file(path, changed, "vm1",
                                       "4dea22b3-1d52-d8f3-2516-782e98ab3fa0", &err), 0);
    ck_assert_str_eq(slurp(path), changed);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 07777, 0640);
    {
        char cmd[256];

        snprintf(cmd, sizeof(cmd), "test $(ls -A %s | wc -l) = 1", dir);
        ck_assert_int_eq(system(cmd), 0);
    }
    /* a symlinked config stays a symlink; its target gets the new text */
    {
        char link[160];
        struct stat lst;

        snprintf(link, sizeof(link), "%s/link.xml", dir);
        ck_assert_int_eq(symlink(path, link), 0);
        ck_assert_int_eq(domxml_write_file(link, good_xml, "vm1", NULL, &err), 0);
        ck_assert_int_eq(lstat(link, &lst), 0);
        ck_assert(S_ISLNK(lst.st_mode));
        ck_assert_str_eq(slurp(path), good_xml);
        unlink(link);
    }
    /* an unwritable directory: an error, the file unchanged */
    unlink(path);
    rmdir(dir);
    ck_assert_int_lt(domxml_write_file(path, good_xml, "vm1", NULL, &err), 0);
    ck_assert_ptr_nonnull(strstr(error_message(err), "cannot create"));
    error_free(err);
}
END_TEST

static void
write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

static int
dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e = NULL;
    int n = 0;

    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)))
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

/* Item 12: the rewritten config keeps owner, group and ACL as well as the
 * mode (the agent runs as root; other nodes may read it as another user). */
START_TEST(test_write_file_keeps_owner_and_acl)
{
    /* system.posix_acl_access: version 2; user::rw- user:4321:r-- group::r-- mask::r-- other::--- */
    static const uint8_t acl[] = {
        2, 0, 0, 0,
        0x01, 0, 6, 0, 0xff, 0xff, 0xff, 0xff,
        0x02, 0, 4, 0, 0xe1, 0x10, 0, 0,
        0x04, 0, 4, 0, 0xff, 0xff, 0xff, 0xff,
        0x10, 0, 4, 0, 0xff, 0xff, 0xff, 0xff,
        0x20, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
    };
    uint8_t back[sizeof(acl) + 64];
    char dir[] = "/tmp/check_domxml.XXXXXX";
    char path[128];
    struct stat st;
    ferry_error *err = NULL;
    bool acls = false;
    ssize_t n = 0;

    if (geteuid() != 0)
        return;     /* chown needs root */
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/vm1.xml", dir);
    write_text(path, good_xml);
    ck_assert_int_eq(chown(path, 4321, 4322), 0);
    ck_assert_int_eq(chmod(path, 0640), 0);
    acls = setxattr(path, "system.posix_acl_access", acl, sizeof(acl), 0) == 0;

    ck_assert_msg(domxml_write_file(path, good_xml, "vm1", NULL, &err) == 0, "%s",
                  error_message(err));
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_uid, 4321);
    ck_assert_int_eq(st.st_gid, 4322);
    ck_assert_int_eq(st.st_mode & 07777, 0640);
    if (acls) {
        n = getxattr(path, "system.posix_acl_access", back, sizeof(back));
        ck_assert_int_eq(n, (ssize_t)sizeof(acl));
        ck_assert_mem_eq(back, acl, sizeof(acl));
    }
    ck_assert_int_eq(dir_entries(dir), 1);
    unlink(path);
    rmdir(dir);
}
END_TEST

/* Item 12: a failing fsync leaves neither a descriptor nor a temporary file,
 * and the old file as it was. */
START_TEST(test_write_file_fsync_fails)
{
    char dir[] = "/tmp/check_domxml.XXXXXX";
    char path[128];
    char changed[1024];
    ferry_error *err = NULL;
    int before = 0;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/vm1.xml", dir);
    write_text(path, good_xml);
    snprintf(changed, sizeof(changed), "%s", good_xml);
    memcpy(strstr(changed, "256"), "512", 3);
    before = open_fds();
    fsync_fails = true;
    ck_assert_int_eq(domxml_write_file(path, changed, "vm1", NULL, &err), -EIO);
    fsync_fails = false;
    ck_assert_int_eq(open_fds(), before);
    ck_assert_str_eq(slurp(path), good_xml);
    ck_assert_int_eq(dir_entries(dir), 1);
    error_free(err);
    unlink(path);
    rmdir(dir);
}
END_TEST

/* Item 12: a graphics password (libvirt's VIR_DOMAIN_XML_SECURE output) is
 * written only into a config that already holds one; the file's mode never
 * gets wider. */
START_TEST(test_write_file_secrets)
{
    static const char with_passwd[] =
        "<domain><name>vm1</name><devices>"
        "<graphics type='vnc' port='-1' passwd='s3cret'/></devices></domain>\n";
    static const char other_passwd[] =
        "<domain><name>vm1</name><devices>"
        "<graphics type='vnc' port='-1' passwd='n3w'/></devices></domain>\n";
    char dir[] = "/tmp/check_domxml.XXXXXX";
    char path[128];
    struct stat st;
    ferry_error *err = NULL;
    domxml *d = NULL;

    d = parse_ok(with_passwd);
    ck_assert(domxml_has_secret(d));
    domxml_free(d);
    d = parse_ok(good_xml);
    ck_assert(!domxml_has_secret(d));
    domxml_free(d);

    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/vm1.xml", dir);
    write_text(path, good_xml);
    ck_assert_int_eq(chmod(path, 0644), 0);
    /* the config has no password: the definition with one is not written */
    ck_assert_int_eq(domxml_write_file(path, with_passwd, "vm1", NULL, &err), -EPERM);
    ck_assert_msg(strstr(error_message(err), "graphics password"), "%s", error_message(err));
    err = error_free(err);
    ck_assert_str_eq(slurp(path), good_xml);
    ck_assert_int_eq(dir_entries(dir), 1);
    /* a missing config has none either */
    unlink(path);
    ck_assert_int_eq(domxml_write_file(path, with_passwd, "vm1", NULL, &err), -EPERM);
    err = error_free(err);
    ck_assert_int_eq(dir_entries(dir), 0);
    /* the operator put one there: a changed one is written, mode as it was */
    write_text(path, with_passwd);
    ck_assert_int_eq(chmod(path, 0600), 0);
    ck_assert_msg(domxml_write_file(path, other_passwd, "vm1", NULL, &err) == 0, "%s",
                  error_message(err));
    ck_assert_str_eq(slurp(path), other_passwd);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 07777, 0600);
    unlink(path);
    rmdir(dir);
}
END_TEST

/* A huge page size too large for 64 bits, or negative, is not one we can
 * read (it wrapped to a small size: 2^54+1 KiB read as 1 KiB; found by
 * fuzz/fuzz_domxml): counted as "any size", like any unreadable size. */
START_TEST(test_hugepage_size_overflow)
{
    const char *sizes[] = { "size='18014398509481985' unit='KiB'", "size='18446744073709551615'",
                            "size='-1' unit='b'", "size='17592186044417' unit='MiB'" };
    uint64_t page_kib = 99;
    size_t i;

    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        char xml[256];
        domxml *d = NULL;

        snprintf(xml, sizeof(xml), "<domain><name>a</name><memoryBacking><hugepages><page %s/>"
                 "</hugepages></memoryBacking></domain>", sizes[i]);
        d = parse_ok(xml);
        ck_assert(domxml_hugepages(d, &page_kib));
        ck_assert_msg(page_kib == 0, "%s: page size %llu KiB", sizes[i],
                      (unsigned long long)page_kib);
        domxml_free(d);
    }
}
END_TEST

/* A page size under 1 KiB reads as 0 KiB, which is also "no size seen yet":
 * with a second <page> of another size, that one was taken as the only
 * size (found by fuzz/fuzz_domxml). Such a size is unreadable: any size. */
START_TEST(test_hugepage_size_under_kib)
{
    uint64_t page_kib = 99;
    domxml *d = parse_ok("<domain><name>a</name><memoryBacking><hugepages>"
                         "<page size='1' unit='B'/><page size='1048576'/>"
                         "</hugepages></memoryBacking></domain>");

    ck_assert(domxml_hugepages(d, &page_kib));
    ck_assert_msg(page_kib == 0, "page size %llu KiB", (unsigned long long)page_kib);
    domxml_free(d);
}
END_TEST

START_TEST(test_free_null)
{
    ck_assert_ptr_null(domxml_free(NULL));
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("domxml");

    add_test(s, test_good, 5);
    add_test(s, test_minimal, 5);
    add_test(s, test_memory_units, 5);
    add_test(s, test_memory_units_libvirt, 5);
    add_test(s, test_malformed, 5);
    add_test(s, test_missing_elements, 5);
    add_test(s, test_no_network_no_entities, 5);
    add_test(s, test_huge, 10);
    add_test(s, test_files, 10);
    add_test(s, test_write_file, 10);
    add_test(s, test_write_file_keeps_owner_and_acl, 10);
    add_test(s, test_write_file_fsync_fails, 10);
    add_test(s, test_write_file_secrets, 10);
    add_test(s, test_hugepage_size_overflow, 5);
    add_test(s, test_hugepage_size_under_kib, 5);
    add_test(s, test_free_null, 5);
    return check_run(s);
}
