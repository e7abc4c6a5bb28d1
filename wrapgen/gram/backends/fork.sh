#!/bin/sh
# A wrapgen fork job. $1: the job's control directory; the rest: the command (argv, never a shell line).
# The manager may die at any moment and a new one take over, so this script
#  - runs the job only if it claims the launch token first (a manager that finds the token unclaimed takes it
#    back, and then this script exits without running anything): exactly once;
#  - writes its pid, then the exit status when the job ends, each by rename so a reader never sees half a file.
ctl=$1
shift
mv "$ctl/launch" "$ctl/claimed" 2>/dev/null || exit 0
echo $$ > "$ctl/pid.part" && mv "$ctl/pid.part" "$ctl/pid"
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
echo $rc > "$ctl/exit.part" && mv "$ctl/exit.part" "$ctl/exit"
exit $rc
