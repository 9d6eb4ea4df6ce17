// The connection to the daemon as a small state machine, and how each state is shown to the user.
// The reducer is pure so the transitions can be tested without sockets or timers.
// This module must not import 'vscode'.
import type { InitializeResult } from '../protocol/generated';

export type ConnectionState =
  /** Not connected and not trying; `reason` says why when it stopped on an error that retrying cannot fix. */
  | { readonly kind: 'disconnected'; readonly reason?: string }
  | { readonly kind: 'connecting' }
  | { readonly kind: 'connected'; readonly server: InitializeResult }
  | {
      readonly kind: 'reconnecting';
      /** Failed attempts since the last successful connection (or since start). */
      readonly attempt: number;
      readonly delayMs: number;
      readonly lastError: string;
      /** Whether this client was ever connected since it started; a first connection that fails is worse news. */
      readonly wasConnected: boolean;
    };

export type ConnectionStateKind = ConnectionState['kind'];

export type ConnectionEvent =
  | { readonly type: 'start' }
  | { readonly type: 'connected'; readonly server: InitializeResult }
  /** An attempt to connect failed; the next one is due in delayMs. */
  | { readonly type: 'attemptFailed'; readonly error: string; readonly delayMs: number }
  /** An established connection closed (the daemon stopped or restarted); the next attempt is due in delayMs. */
  | { readonly type: 'lost'; readonly error: string; readonly delayMs: number }
  /** A retry timer fired and a new attempt begins. */
  | { readonly type: 'retry' }
  | { readonly type: 'stop'; readonly reason?: string };

export const initialConnectionState: ConnectionState = { kind: 'disconnected' };

/** Applies one event. Events that make no sense in a state (a stale 'lost' after 'stop') leave it unchanged. */
export function transition(state: ConnectionState, event: ConnectionEvent): ConnectionState {
  switch (event.type) {
    case 'start':
      return state.kind === 'disconnected' ? { kind: 'connecting' } : state;
    case 'stop':
      return event.reason === undefined ? { kind: 'disconnected' } : { kind: 'disconnected', reason: event.reason };
    case 'connected':
      return state.kind === 'disconnected' ? state : { kind: 'connected', server: event.server };
    case 'attemptFailed':
      if (state.kind === 'connecting') {
        return { kind: 'reconnecting', attempt: 1, delayMs: event.delayMs, lastError: event.error, wasConnected: false };
      }
      if (state.kind === 'reconnecting') {
        return { ...state, attempt: state.attempt + 1, delayMs: event.delayMs, lastError: event.error };
      }
      return state;
    case 'lost':
      if (state.kind === 'connected') {
        return { kind: 'reconnecting', attempt: 0, delayMs: event.delayMs, lastError: event.error, wasConnected: true };
      }
      return state;
    case 'retry':
      // The attempt runs while the state stays 'reconnecting', so the status bar does not flicker between attempts.
      return state;
  }
}

/**
 * How many failed attempts after losing a connection the status bar keeps saying "reconnecting" before it
 * says the backend is unavailable: with the back-off above that is about 1.75 s, longer than a daemon restart.
 */
export const AttemptsBeforeUnavailable = 3;

export interface ConnectionStatusView {
  readonly text: string;
  readonly tooltip: string;
  /** Whether the status bar item should use the error colours and open the log when clicked. */
  readonly isError: boolean;
  /** False once connected: the workspace status bar takes over. */
  readonly showsConnection: boolean;
}

/** What the status bar shows for a state that is not (yet) 'connected'. */
export function connectionStatusView(state: ConnectionState): ConnectionStatusView {
  switch (state.kind) {
    case 'disconnected':
      if (state.reason !== undefined) {
        return { text: '$(error) Orchflow: backend unavailable — click for log', tooltip: state.reason, isError: true, showsConnection: true };
      }
      return { text: '$(circle-slash) Orchflow: disconnected', tooltip: 'Orchflow is not connected to its backend.', isError: false, showsConnection: true };
    case 'connecting':
      return { text: '$(sync~spin) Orchflow: connecting…', tooltip: 'Starting or connecting to the Orchflow backend…', isError: false, showsConnection: true };
    case 'connected':
      return { text: '$(layers) Orchflow', tooltip: 'Connected to the Orchflow backend.', isError: false, showsConnection: false };
    case 'reconnecting': {
      const unavailable = !state.wasConnected || state.attempt >= AttemptsBeforeUnavailable;
      const retry = `Retrying in ${formatDelay(state.delayMs)}.`;
      if (unavailable) {
        return {
          text: '$(error) Orchflow: backend unavailable — click for log',
          tooltip: `${state.lastError}\n${retry}`,
          isError: true,
          showsConnection: true,
        };
      }
      return {
        text: '$(sync~spin) Orchflow: reconnecting…',
        tooltip: `The connection to the Orchflow backend closed: ${state.lastError}\n${retry}`,
        isError: false,
        showsConnection: true,
      };
    }
  }
}

function formatDelay(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(ms % 1000 === 0 ? 0 : 1)} s`;
}
