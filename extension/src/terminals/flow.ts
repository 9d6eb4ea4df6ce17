// Ordering and flow control of a terminal's output, as plain logic.
// The daemon numbers output by UTF-16 characters since the terminal started: a chunk `{ seq, data }` covers the
// positions (seq - data.length, seq]. The scrollback of an attach ends at the attach's `seq`, and live output
// may overlap it (notifications are pumped while the attach is answered), so every chunk goes through the
// sequencer, which writes each position once, in order.
// This module must not import 'vscode'.
import { Limits } from '../protocol/generated';

/** The daemon's flow control (VS Code's own numbers): it pauses a terminal above the high watermark. */
export const FlowControl = {
  /** The daemon pauses the PTY when a client has more unacknowledged characters than this. */
  HighWatermarkChars: Limits.TerminalHighWatermarkChars,
  /** ...and resumes it below this; the client acknowledges at least every this many characters. */
  LowWatermarkChars: Limits.TerminalLowWatermarkChars,
} as const;

export interface SequencedText {
  /** The part of the chunk not written before; empty when all of it was. */
  readonly text: string;
  /** Characters missing between what was written and this chunk (output lost on the way); usually 0. */
  readonly gap: number;
}

export class OutputSequencer {
  private last: number | undefined;

  /** `start`: the position already written (0 for a terminal attached from its first byte); undefined takes any. */
  constructor(start?: number) {
    this.last = start;
  }

  /** The position after the last character written, or undefined before anything was. */
  get position(): number | undefined {
    return this.last;
  }

  accept(seq: number, data: string): SequencedText {
    const last = this.last;
    if (last === undefined) {
      this.last = seq;
      return { text: data, gap: 0 };
    }
    if (seq <= last) {
      return { text: '', gap: 0 };
    }
    this.last = seq;
    const start = seq - data.length;
    if (start >= last) {
      return { text: data, gap: start - last };
    }
    return { text: data.slice(last - start), gap: 0 };
  }
}

/**
 * Decides when to acknowledge written output: whenever at least `threshold` characters were written since the
 * last acknowledgement. The daemon counts from the position where the client attached.
 */
export class AckBatcher {
  private acked: number;

  constructor(
    base: number,
    private readonly threshold: number = FlowControl.LowWatermarkChars,
  ) {
    this.acked = base;
  }

  get lastAcked(): number {
    return this.acked;
  }

  /** Starts counting afresh from `base` (a new attach). */
  reset(base: number): void {
    this.acked = base;
  }

  /** Output up to `seq` has been written; returns the position to acknowledge now, or undefined. */
  written(seq: number): number | undefined {
    if (seq - this.acked >= this.threshold) {
      this.acked = seq;
      return seq;
    }
    return undefined;
  }
}
