#!/usr/bin/env python3
"""Writes the synthetic-*.bin screen fixtures and synthetic-labels.json.

Synthetic: written by hand after how each CLI draws, not recorded from it. Claude Code and Gemini CLI render with Ink
(each frame erases the previous one line by line, ESC[2K ESC[1A ..., then redraws below the static transcript);
Codex CLI renders with ratatui in an inline viewport at the bottom of the screen (absolute cursor positions, history
inserted above it through a scroll region). Each frame's end offset is labelled with what a person sees there:
"working" (a spinner, never a question), "question" (with its text and choices) or "prompt" (idle at its input).
Run it again after changing a frame: python3 make-synthetic.py
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
COLS, ROWS = 80, 24
ORANGE = "\x1b[38;2;215;119;87m"
GREY = "\x1b[38;5;246m"
BLUE = "\x1b[38;2;177;185;249m"
RESET = "\x1b[39m\x1b[22m\x1b[0m"
BOLD = "\x1b[1m"
INV = "\x1b[7m"


def box(lines, width=COLS - 2, color=GREY):
    out = [color + "╭" + "─" * width + "╮" + RESET]
    for line in lines:
        visible = line
        for seq in (ORANGE, GREY, BLUE, RESET, BOLD, INV, "\x1b[27m"):
            visible = visible.replace(seq, "")
        pad = width - 1 - len(visible)
        out.append(color + "│" + RESET + " " + line + " " * max(0, pad) + color + "│" + RESET)
    out.append(color + "╰" + "─" * width + "╯" + RESET)
    return out


class Ink:
    """Ink's log-update: erase the previous dynamic frame, write the new one; static output goes above it."""

    def __init__(self):
        self.out = bytearray()
        self.prev = 0
        self.frames = []
        self.write("\x1b[?25l\x1b[?2004h\x1b[?1004h")

    def write(self, s):
        # The PTY's line discipline (ONLCR) turns each \n the program writes into \r\n: recorded streams carry that.
        self.out += s.replace("\n", "\r\n").encode("utf-8")

    def erase(self):
        if self.prev:
            self.write("\x1b[2K\x1b[1A" * (self.prev - 1) + "\x1b[2K\x1b[G")
            self.prev = 0

    def static(self, lines):
        self.erase()
        self.write("\n".join(lines) + "\n")

    def frame(self, lines, label=None, split_at=None):
        self.erase()
        text = "\n".join(lines) + "\n"
        if split_at:
            # The same frame written in two writes (the PTY may deliver it in two reads anyway).
            self.write(text[:split_at])
            self.write(text[split_at:])
        else:
            self.write(text)
        self.prev = len(lines) + 1
        if label:
            self.frames.append(dict(label, end=len(self.out)))


def claude_header(ink):
    ink.static(box([ORANGE + "✻" + RESET + " Welcome to Claude Code!", "", GREY + "  /help for help, /status for your current setup" + RESET, "", GREY + "  cwd: /work/proj" + RESET], 50, ORANGE) + [""])


def claude_input(text=""):
    return box([">" + (" " + text if text else " ")]) + [GREY + "  ? for shortcuts" + RESET]


STARS = "·✢✳✶✻✽"


def claude_working(ink, seconds, verb="Thinking", extra=None):
    for s in range(seconds):
        for k in range(3):
            glyph = STARS[(s * 3 + k) % len(STARS)]
            lines = (extra or []) + [ORANGE + glyph + " " + verb + "…" + RESET + GREY + f" ({s}s · ↑ {s * 40} tokens · esc to interrupt)" + RESET, ""] + claude_input()
            ink.frame(lines, {"expect": "working"} if k == 2 else None)


def claude_trust():
    ink = Ink()
    lines = box([
        "",
        BOLD + "Do you trust the files in this folder?" + RESET,
        "",
        BOLD + "/work/proj" + RESET,
        "",
        "Claude Code may read files in this folder. Reading untrusted files may lead",
        "Claude Code to behave in unexpected ways.",
        "",
        "With your permission Claude Code may execute files in this folder. Executing",
        "untrusted code is unsafe.",
        "",
        GREY + "https://docs.anthropic.com/s/claude-code-security" + RESET,
        "",
        BLUE + "❯ 1. Yes, proceed" + RESET,
        "  2. No, exit",
        "",
    ], color=ORANGE) + [GREY + "   Enter to confirm · Esc to exit" + RESET]
    ink.frame(lines, {"expect": "question", "question": "Do you trust the files in this folder?", "choices": ["Yes, proceed", "No, exit"]}, split_at=400)
    return ink


def claude_permission(title, body, question, choices, verb):
    ink = Ink()
    claude_header(ink)
    ink.static([GREY + "> " + RESET + "add a README line", ""])
    claude_working(ink, 3, verb, extra=["⏺ I'll append a line to the README. Do you want me to add tests too?", ""])
    items = [BLUE + "❯ 1. " + choices[0] + RESET] + [f"  {i + 2}. {c}" for i, c in enumerate(choices[1:])]
    dialog = box([BOLD + title + RESET, ""] + body + ["", question] + items, color=BLUE) + [GREY + "  Esc to cancel · Tab to amend" + RESET]
    ink.frame(["⏺ I'll append a line to the README. Do you want me to add tests too?", ""] + dialog, {"expect": "question", "question": question, "choices": choices})
    # The person picks 1: the dialog goes, the tool runs, the agent works again, then idles at its prompt.
    claude_working(ink, 2, "Appending")
    ink.static(["⏺ Done: README.md has the new line.", ""])
    ink.frame(claude_input(), {"expect": "prompt"})
    return ink


def codex(dialog):
    out = bytearray()
    frames = []

    def w(s):
        out.extend(s.encode("utf-8"))

    top = 14  # the inline viewport: rows 15..24
    w("\x1b[?2004h\x1b[?1h")  # bracketed paste, application cursor keys (ratatui's crossterm)
    w(f"\x1b[{top + 1};1H\x1b[J")

    def history(line):
        # Insert a line above the viewport: scroll rows 1..top up, write into row top.
        w(f"\x1b[1;{top}r\x1b[{top};1H\r\n{line}\x1b[r")

    def viewport(lines, label=None):
        w("\x1b[?25l")
        for i in range(ROWS - top):
            w(f"\x1b[{top + 1 + i};1H")
            if i < len(lines):
                w(lines[i])
            w("\x1b[K")
        w(f"\x1b[{top + 4};4H\x1b[?25h")
        if label:
            frames.append(dict(label, end=len(out)))

    footer = [GREY + "  ⏎ send   ⌃J newline   ⌃T transcript   ⌃C quit" + RESET + "            100% context left"]
    if dialog == "trust":
        viewport([
            BOLD + "> You are running Codex in /work/proj" + RESET,
            "",
            "  Since this folder is version controlled, you may wish to allow Codex to work",
            "  in this folder without asking for approval.",
            "",
            BLUE + "› 1. Yes, allow Codex to work in this folder without asking for approval" + RESET,
            "  2. No, ask me to approve edits and commands",
            "",
            GREY + "  Press enter to continue" + RESET,
        ], {"expect": "question", "question": "Since this folder is version controlled, you may wish to allow Codex to work in this folder without asking for approval.",
            "choices": ["Yes, allow Codex to work in this folder without asking for approval", "No, ask me to approve edits and commands"]})
        return out, frames

    history(BOLD + "user" + RESET)
    history("add a README line")
    for s in range(4):
        for k in range(3):
            shimmer = "".join((BOLD if (j + k) % 3 == 0 else "") + ch + RESET for j, ch in enumerate("Working"))
            viewport(["", "• " + shimmer + GREY + f" ({s}s • esc to interrupt)" + RESET, "", "› " + GREY + "Ask Codex to do anything" + RESET, ""] + footer,
                     {"expect": "working"} if k == 2 else None)
    if dialog == "approval":
        question, choices, body = "Would you like to run the following command?", ["Yes, proceed (y)", "Yes, and don't ask again for this command (a)", "No, and tell Codex what to do differently (esc)"], ["  $ echo hello >> README.md"]
    else:
        question, choices, body = "Would you like to make the following edits?", ["Yes, proceed (y)", "Yes, and don't ask again for these files (a)", "No, and tell Codex what to do differently (esc)"], ["  README.md (+1 -0)", "    1 +hello"]
    items = [BLUE + BOLD + "› 1. " + choices[0] + RESET] + [f"  {i + 2}. {c}" for i, c in enumerate(choices[1:])]
    viewport([BOLD + "  " + question + RESET, ""] + body + [""] + items + ["", GREY + "  Press enter to confirm or esc to cancel" + RESET],
             {"expect": "question", "question": question, "choices": choices})
    history("✔ You approved codex to run echo hello >> README.md this time")
    viewport(["", "› " + GREY + "Ask Codex to do anything" + RESET, ""] + footer, {"expect": "prompt"})
    return out, frames


BRAILLE = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


def gemini_input():
    return box([BLUE + ">" + RESET + GREY + "   Type your message or @path/to/file" + RESET]) + [GREY + "~/proj (main*)     no sandbox (see /docs)     gemini-2.5-pro (100% context left)" + RESET]


def gemini(dialog):
    ink = Ink()
    if dialog == "trust":
        lines = box([
            "",
            BOLD + "Do you trust this folder?" + RESET,
            "",
            "Trusting a folder allows Gemini to execute commands it suggests. This is a",
            "security feature to prevent accidental execution in untrusted directories.",
            "",
            "● 1. Trust folder (proj)",
            "  2. Trust parent folder (work)",
            "  3. Don't trust (esc)",
            "",
        ], color=BLUE)
        ink.frame(lines, {"expect": "question", "question": "Do you trust this folder?", "choices": ["Trust folder (proj)", "Trust parent folder (work)", "Don't trust (esc)"]})
        return ink
    ink.static([BLUE + "███ GEMINI" + RESET, "", "Tips for getting started:", "1. Ask questions, edit files, or run commands.", "2. Be specific for the best results.", ""])
    ink.static(["> add a README line", ""])
    for s in range(3):
        for k in range(4):
            ink.frame([BLUE + BRAILLE[(s * 4 + k) % 10] + RESET + " Counting the electrons" + GREY + f" (esc to cancel, {s}s)" + RESET, ""] + gemini_input(),
                      {"expect": "working"} if k == 3 else None)
    if dialog == "approval":
        question, choices = "Allow execution of: 'echo'?", ["Allow once", "Allow for this session", "No, suggest changes (esc)"]
        body = [BLUE + "?" + RESET + "  Shell echo hello >> README.md [current working directory /work/proj]", "", "   echo hello >> README.md", ""]
    else:
        question, choices = "Apply this change?", ["Allow once", "Allow always", "Modify with external editor", "No, suggest changes (esc)"]
        body = [BLUE + "?" + RESET + "  Edit README.md: # proj => # proj...", "", "   1   # proj", "   2 + hello", ""]
    items = [BLUE + "● 1. " + choices[0] + RESET] + [f"  {i + 2}. {c}" for i, c in enumerate(choices[1:])]
    dialog_lines = box(body + [question, ""] + items, color=BLUE)
    for k in range(3):
        ink.frame(dialog_lines + [BLUE + BRAILLE[k] + RESET + " Waiting for user confirmation..."] + [""] + gemini_input(),
                  {"expect": "question", "question": question, "choices": choices} if k == 0 else None)
    for k in range(4):
        ink.frame([BLUE + BRAILLE[k] + RESET + " Counting the electrons" + GREY + " (esc to cancel, 4s)" + RESET, ""] + gemini_input(), {"expect": "working"} if k == 3 else None)
    ink.static(["✦ Added the line to README.md.", ""])
    ink.frame(gemini_input(), {"expect": "prompt"})
    return ink


def main():
    fixtures = []

    def save(name, vendor, data, frames):
        with open(os.path.join(HERE, name), "wb") as f:
            f.write(bytes(data))
        fixtures.append({"file": name, "vendor": vendor, "columns": COLS, "rows": ROWS, "frames": frames})

    ink = claude_trust()
    save("synthetic-claude-trust.bin", "claude", ink.out, ink.frames)
    ink = claude_permission("Bash command", ["  echo hello >> README.md", GREY + "  Append a line to the README" + RESET], "Do you want to proceed?",
                            ["Yes", "Yes, and don't ask again for echo commands in /work/proj", "No, and tell Claude what to do differently (esc)"], "Thinking")
    save("synthetic-claude-approval.bin", "claude", ink.out, ink.frames)
    ink = claude_permission("Edit file", ["  README.md", "  1   # proj", "  2 + hello"], "Do you want to make this edit to README.md?",
                            ["Yes", "Yes, allow all edits during this session (shift+tab)", "No, and tell Claude what to do differently (esc)"], "Pondering")
    save("synthetic-claude-edit.bin", "claude", ink.out, ink.frames)
    ink = claude_permission("Ready to code?", ["Here is Claude's plan:", "  1. Append a line to README.md", "  2. Show the diff"], "Would you like to proceed?",
                            ["Yes, and auto-accept edits", "Yes, and manually approve edits", "No, keep planning"], "Planning")
    save("synthetic-claude-plan.bin", "claude", ink.out, ink.frames)
    for d in ("trust", "approval", "edit"):
        data, frames = codex(d)
        save(f"synthetic-codex-{d}.bin", "codex", data, frames)
    for d in ("trust", "approval", "edit"):
        ink = gemini(d)
        save(f"synthetic-gemini-{d}.bin", "gemini", ink.out, ink.frames)
    with open(os.path.join(HERE, "synthetic-labels.json"), "w", encoding="utf-8") as f:
        json.dump({"synthetic": True, "fixtures": fixtures}, f, ensure_ascii=False, indent=1)
        f.write("\n")


main()
