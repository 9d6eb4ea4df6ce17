// Registering the extension's commands: a command that fails is logged and shown to the user as one message,
// never thrown back into VS Code (which would show a bare stack in a toast). A command may say, while it runs, how
// a failure can be recovered from: the message then offers that as its button (a damaged memory offers Import).
import * as vscode from 'vscode';
import type { Logger } from './client/logger';
import type { CommandId } from './constants';
import { userMessage } from './protocol/errors';

/** The way back from a failure: a button on its message, and what the button does. */
export interface Recovery {
  readonly label: string;
  readonly run: () => Thenable<unknown>;
}

/** One run of a command: what it has learned so far decides what its failure offers. */
export interface CommandRun {
  /** Set by the command: the recovery a failure offers, or undefined for a plain message. */
  recover?: (error: unknown) => Recovery | undefined;
}

export type CommandHandler = (arg: unknown, run: CommandRun) => Promise<void>;

export function registerGuardedCommands(logger: Logger, handlers: readonly (readonly [CommandId, CommandHandler])[]): vscode.Disposable[] {
  return handlers.map(([id, command]) =>
    vscode.commands.registerCommand(id, async (arg: unknown): Promise<void> => {
      const run: CommandRun = {};
      try {
        await command(arg, run);
      } catch (error) {
        const message = userMessage(error);
        logger.error(`${id} failed: ${message}`);
        const recovery = run.recover?.(error);
        if (recovery) {
          await offerRecovery(message, recovery);
        } else {
          void vscode.window.showErrorMessage(message);
        }
      }
    }),
  );
}

/** Shows an error with its way back as a button, and takes that way when the button is clicked. */
export async function offerRecovery(message: string, recovery: Recovery): Promise<void> {
  const choice = await vscode.window.showErrorMessage(message, recovery.label);
  if (choice === recovery.label) {
    await recovery.run();
  }
}
