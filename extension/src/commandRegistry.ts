// Registering the extension's commands: a command that fails is logged and shown to the user as one message,
// never thrown back into VS Code (which would show a bare stack in a toast).
import * as vscode from 'vscode';
import type { Logger } from './client/logger';
import type { CommandId } from './constants';
import { userMessage } from './protocol/errors';

export type CommandHandler = (arg: unknown) => Promise<void>;

export function registerGuardedCommands(logger: Logger, handlers: readonly (readonly [CommandId, CommandHandler])[]): vscode.Disposable[] {
  return handlers.map(([id, run]) =>
    vscode.commands.registerCommand(id, async (arg: unknown): Promise<void> => {
      try {
        await run(arg);
      } catch (error) {
        const message = userMessage(error);
        logger.error(`${id} failed: ${message}`);
        void vscode.window.showErrorMessage(message);
      }
    }),
  );
}
