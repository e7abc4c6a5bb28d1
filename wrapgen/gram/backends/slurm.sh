#!/bin/sh
#SBATCH --job-name=${name}
#SBATCH --chdir=${directory}
#SBATCH --input=${stdin}
#SBATCH --output=${stdout}
#SBATCH --error=${stderr}
#SBATCH --open-mode=append
${directives}
# A wrapgen job on Slurm (sbatch only: srun needs client ports a sandbox may not have). As fork.sh: claim the
# launch (exactly once), run the command ${count} time(s), write the exit status by rename.
ctl=${control}
set -C
{ echo "$${SLURM_JOB_ID:-slurm}" > ${claim}; } 2> /dev/null || exit 0
set +C
exe=${executable}
case "$$exe" in
  */*) [ -f "$$exe" ] && [ -x "$$exe" ] ;;
  *) command -v "$$exe" > /dev/null 2>&1 ;;
esac || { echo "$$exe" > "$$ctl/missing"; exit 127; }
n=${count}
if [ "$$n" -le 1 ]; then
  ${command}
  rc=$$?
else
  pids=""
  i=0
  while [ "$$i" -lt "$$n" ]; do
    ${command} &
    pids="$$pids $$!"
    i=$$((i + 1))
  done
  rc=0
  for p in $$pids; do
    wait "$$p"
    r=$$?
    [ "$$rc" -eq 0 ] && rc=$$r
  done
fi
echo $$rc > "$$ctl/exit.part" && mv "$$ctl/exit.part" "$$ctl/exit"
exit $$rc
