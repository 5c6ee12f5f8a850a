// Single-key controls while the demo runs in a terminal. Raw mode turns off the terminal's own Ctrl-C, so
// Ctrl-C arrives here as a key and is mapped to quit.
import * as readline from 'readline';

export interface KeyAction {
  key: string;
  help: string;
  run: () => void;
}

export interface KeyboardControls {
  dispose(): void;
}

/** Listens for the keys when `input` is a terminal; returns undefined (no controls) otherwise. */
export function listenForKeys(
  input: NodeJS.ReadStream,
  actions: readonly KeyAction[],
  quit: () => void,
): KeyboardControls | undefined {
  if (!input.isTTY) return undefined;
  readline.emitKeypressEvents(input);
  input.setRawMode(true);
  input.resume();
  const onKey = (text: string | undefined, key: { name?: string; ctrl?: boolean } | undefined) => {
    if ((key?.ctrl && key.name === 'c') || text === 'q') {
      quit();
      return;
    }
    actions.find((action) => action.key === text)?.run();
  };
  input.on('keypress', onKey);
  return {
    dispose() {
      input.off('keypress', onKey);
      input.setRawMode(false);
      input.pause();
    },
  };
}

/** "k kill east's backends · r restart ... · q quit" */
export function keyHelp(actions: readonly KeyAction[]): string {
  return [...actions.map((a) => `${a.key} ${a.help}`), 'q quit'].join(' · ');
}
