#!/bin/sh
# A wrapgen fork job. $1: the job's control directory; $2: this launch's claim file; the rest: the command (argv,
# never a shell line).
# The manager may die at any moment and a new one take over, so this script
#  - runs the job only if it claims the launch first: it creates the claim file with O_EXCL (set -C), and a
#    manager settling an unrecorded launch tries the same, so exactly one of them wins: it runs once or never;
#  - writes its pid, then the exit status when the job ends (read only once this script has ended).
# Only shell builtins run here before the job: an external command would cost a process per job.
ctl=$1
claim=$2
shift 2
set -C
{ echo $$ > "$claim"; } 2> /dev/null || exit 0
set +C
echo $$ > "$ctl/pid"
[ -n "$WRAPGEN_ULIMIT_V" ] && ulimit -v "$WRAPGEN_ULIMIT_V"
[ -n "$WRAPGEN_ULIMIT_T" ] && ulimit -t "$WRAPGEN_ULIMIT_T"
n=${WRAPGEN_COUNT:-1}
unset WRAPGEN_ULIMIT_V WRAPGEN_ULIMIT_T WRAPGEN_COUNT
if [ "$n" -le 1 ]; then
  "$@"
  rc=$?
else
  pids=""
  i=0
  while [ "$i" -lt "$n" ]; do
    "$@" &
    pids="$pids $!"
    i=$((i + 1))
  done
  rc=0
  for p in $pids; do
    wait "$p"
    r=$?
    [ "$rc" -eq 0 ] && rc=$r
  done
fi
echo $rc > "$ctl/exit"
exit $rc
