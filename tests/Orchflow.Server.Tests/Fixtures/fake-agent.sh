#!/usr/bin/env bash
# A scripted stand-in for an agent CLI, for the agent tests: it prints work, asks a question and waits at the
# prompt, reads the answer, edits a file in its working directory and exits with a chosen code.
#
# Usage: fake-agent.sh [TASK...]
#   With no argument it behaves like a CLI that takes its task as the first message: it prompts "> " and reads it.
#   Every argument is echoed as "arg=<...>", so a test can see exactly what argv it got.
#
# Environment (all optional):
#   FAKE_DELAY  seconds before the first output (default 0)
#   FAKE_ASK    the question, printed without a newline; empty for none (default "Proceed? [y/n] ")
#   FAKE_FILE   file in the working directory that gets the task appended when the answer is y (default agent-output.txt)
#   FAKE_WORK   seconds of "work" after the answer (default 0)
#   FAKE_DONE   last line printed (default "All done.")
#   FAKE_EXIT   exit code (default 0)
set -u

sleep "${FAKE_DELAY:-0}"
printf 'fake-agent: argc=%s\n' "$#"
for arg in "$@"; do
  printf 'fake-agent: arg=<%s>\n' "$arg"
done

if [ "$#" -eq 0 ]; then
  printf '> '
  IFS= read -r task
else
  task="$*"
fi

echo "fake-agent: working on: $task"
echo "fake-agent: in $PWD"

answer=y
ask="${FAKE_ASK-Proceed? [y/n] }"
if [ -n "$ask" ]; then
  printf '%s' "$ask"
  IFS= read -r answer
  echo "fake-agent: got answer '$answer'"
fi

file="${FAKE_FILE:-agent-output.txt}"
if [ "$answer" = y ]; then
  printf '%s\n' "$task" >> "$file"
  echo "fake-agent: edited $file"
fi

sleep "${FAKE_WORK:-0}"
echo "${FAKE_DONE:-All done.}"
exit "${FAKE_EXIT:-0}"
