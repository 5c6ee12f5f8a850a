// google.protobuf.Duration from milliseconds. nanos must stay below one second: Envoy aborts (not NACKs)
// on an out-of-range Duration in some messages, so every Duration we send is built here. Zero nanos are
// left out (protobufjs would encode an explicit 0, changing bytes and versions for nothing).
export interface ProtoDuration {
  seconds: number;
  nanos?: number;
}

export function durationFromMs(ms: number): ProtoDuration {
  const whole = Math.floor(ms);
  const nanos = (whole % 1000) * 1_000_000;
  return nanos === 0 ? { seconds: Math.floor(whole / 1000) } : { seconds: Math.floor(whole / 1000), nanos };
}
