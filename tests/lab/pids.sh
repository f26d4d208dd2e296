# pids.sh — sourced by lab.sh and cluster.sh: processes are tracked as "PID STARTTIME"
# (from /proc/PID/stat) so a reused PID is never mistaken for ours.

proc_stat() { # PID -> "STATE PPID ... STARTTIME ..." (the fields after the command name)
  local s; { read -r s <"/proc/$1/stat"; } 2>/dev/null || return 1; echo "${s##*) }"
}
proc_fields() { local s; s=$(proc_stat "$1") || return 1; read -r -a PF <<<"$s"; }   # -> array PF
proc_start() { local PF; proc_fields "$1" || return 1; echo "${PF[19]}"; }
proc_alive() { local PF; proc_fields "$1" || return 1; [ "${PF[0]}" != Z ] && [ "${PF[0]}" != X ]; }
record_pid() { local st; st=$(proc_start "$2") || return 1; echo "$2 $st" >"$1"; }
# pidfile_pid FILE: print the pid if the recorded process is still alive (and is the same process)
pidfile_pid() {
  local pid st
  { read -r pid st <"$1"; } 2>/dev/null || return 1
  [ -n "$pid" ] && proc_alive "$pid" && [ "$(proc_start "$pid")" = "$st" ] && echo "$pid"
}
