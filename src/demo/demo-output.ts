// The demo's terminal lines: plain lines, the numbered startup steps and their indented details.
export const STARTUP_STEPS = 6;

export class DemoOutput {
  constructor(private readonly out: NodeJS.WritableStream) {}

  say(line: string): void {
    this.out.write(line.endsWith('\n') ? line : `${line}\n`);
  }

  step(n: number, text: string): void {
    this.say(`[${n}/${STARTUP_STEPS}] ${text}`);
  }

  detail(text: string): void {
    this.say(`      ${text}`);
  }
}
