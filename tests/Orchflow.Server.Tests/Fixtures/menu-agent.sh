#!/usr/bin/env bash
# A scripted stand-in for an agent TUI that asks with a menu, for the answer tests. It draws a dialog the way the real
# CLIs do (cursor addressing, a box, a footer under it), reads the keys that pick a choice unbuffered, records every
# byte it read in keys.log in its working directory (as hex), writes the choice it took to answer.txt, and exits 0.
#
# Environment (all optional):
#   MENU_STYLE   numbered (default): "❯ 1. Yes", "2. Yes, and don't ask again for echo", "3. No"; a digit picks.
#                arrows: Claude's folder trust dialog, "❯ No, exit" over "Yes, I trust this folder"; the arrow keys move
#                the marker, Enter picks.
#   MENU_SWITCH  a file name: once that file exists in the working directory, the dialog is replaced by another
#                question ("Do you want to make this edit to notes.md?", Yes or No) before any key is read.
#   MENU_WORK    seconds of a working spinner before the dialog (default 0).
#   MENU_PROMPT_FIRST  seconds of an idle prompt ("> ") before the dialog is drawn over it (default 0), as Codex CLI
#                draws its trust dialog after a screen that already looks like a prompt.
set -u

printf '\033[?25l'
end=$((SECONDS + ${MENU_WORK:-0}))
while [ "$SECONDS" -lt "$end" ]; do
  printf '\033[2J\033[H\342\234\273 Thinking\342\200\246 (%ss \302\267 esc to interrupt)\r\n' "$((end - SECONDS))"
  sleep 0.2
done

if [ "${MENU_PROMPT_FIRST:-0}" != 0 ]; then
  printf '\033[2J\033[H> '
  sleep "$MENU_PROMPT_FIRST"
fi

style="${MENU_STYLE:-numbered}"
question='Do you want to proceed?'
labels=("Yes" "Yes, and don't ask again for echo" "No")
if [ "$style" = arrows ]; then
  question='Quick safety check: Is this a project you created or one you trust?'
  labels=("No, exit" "Yes, I trust this folder")
fi
selected=0

draw() {
  printf '\033[2J\033[H'
  if [ "$style" = arrows ]; then
    printf ' Accessing workspace:\r\n\r\n %s\r\n\r\n %s\r\n\r\n' "$PWD" "$question"
    for i in "${!labels[@]}"; do
      if [ "$i" -eq "$selected" ]; then printf ' \342\235\257 %s\r\n' "${labels[$i]}"; else printf '   %s\r\n' "${labels[$i]}"; fi
    done
    printf '\r\n Enter to confirm \302\267 Esc to cancel\r\n'
  else
    printf '\342\225\255\342\224\200\342\224\200\342\225\256\r\n\342\224\202 Bash command\r\n\342\224\202   echo hi\r\n\342\224\202\r\n\342\224\202 %s\r\n' "$question"
    for i in "${!labels[@]}"; do
      if [ "$i" -eq "$selected" ]; then mark=$'\342\235\257'; else mark=' '; fi
      printf '\342\224\202 %s %d. %s\r\n' "$mark" "$((i + 1))" "${labels[$i]}"
    done
    printf '\342\225\260\342\224\200\342\224\200\342\225\257\r\n  Esc to cancel \302\267 Tab to amend\r\n'
  fi
}

draw
if [ -n "${MENU_SWITCH:-}" ]; then
  while [ ! -e "$MENU_SWITCH" ]; do sleep 0.05; done
  question='Do you want to make this edit to notes.md?'
  labels=("Yes" "No")
  selected=0
  draw
fi

stty -icanon -echo -icrnl min 1
: > keys.log
key() { dd bs=1 count="$1" 2>/dev/null | od -An -tx1 | tr -d ' \n'; }
choice=-1
while [ "$choice" -lt 0 ]; do
  k=$(key 1)
  printf '%s' "$k" >> keys.log
  case "$k" in
    3[1-9])
      n=$((16#$k - 16#30))
      if [ "$style" = numbered ] && [ "$n" -le "${#labels[@]}" ]; then choice=$((n - 1)); fi
      ;;
    0d) choice=$selected ;;
    1b)
      rest=$(key 2)
      printf '%s' "$rest" >> keys.log
      case "$rest" in
        5b42|4f42) [ "$selected" -lt $((${#labels[@]} - 1)) ] && selected=$((selected + 1)) ;;
        5b41|4f41) [ "$selected" -gt 0 ] && selected=$((selected - 1)) ;;
      esac
      draw
      ;;
  esac
done

printf 'chosen %d: %s\n' "$((choice + 1))" "${labels[$choice]}" > answer.txt
printf '\033[2J\033[Hchosen %d: %s\r\n' "$((choice + 1))" "${labels[$choice]}"
exit 0
