// google.protobuf.Duration from milliseconds. nanos must stay below one second: Envoy aborts (not NACKs)
// on an out-of-range Duration in some messages, so every Duration we send is built here.
export interface ProtoDuration {
  seconds: number;
  nanos: number;
}

export function durationFromMs(ms: number): ProtoDuration {
  const whole = Math.floor(ms);
  return { seconds: Math.floor(whole / 1000), nanos: (whole % 1000) * 1_000_000 };
}
