// Outlier detection is on for every generated cluster: without it Envoy never marks a dead local host
// unhealthy, and priority failover silently never starts. Every field is set explicitly, because the
// proxyless gRPC client crashes when success-rate fields are left unset (see DESIGN.md).
import { OutlierTuning } from '../../mesh/model';
import { Duration, OutlierDetection } from '../resource/envoy-messages';
import { durationFromMs } from '../duration';

export const DEFAULT_CONSECUTIVE_5XX = 3;
export const DEFAULT_OUTLIER_INTERVAL_MS = 1_000;
export const DEFAULT_BASE_EJECTION_TIME_MS = 10_000;
export const MAX_EJECTION_TIME_MS = 300_000;
/** 100%: every local host may be ejected, so all traffic can spill to the next priority. */
export const DEFAULT_MAX_EJECTION_PERCENT = 100;

const duration = (ms: number): Duration => durationFromMs(ms);

const u32 = (value: number) => ({ value });

export function outlierDetection(tuning: OutlierTuning = {}): OutlierDetection {
  const consecutive = tuning.consecutive5xx ?? DEFAULT_CONSECUTIVE_5XX;
  return {
    consecutive_5xx: u32(consecutive),
    interval: duration(tuning.intervalMs ?? DEFAULT_OUTLIER_INTERVAL_MS),
    base_ejection_time: duration(tuning.baseEjectionTimeMs ?? DEFAULT_BASE_EJECTION_TIME_MS),
    max_ejection_percent: u32(tuning.maxEjectionPercent ?? DEFAULT_MAX_EJECTION_PERCENT),
    enforcing_consecutive_5xx: u32(100),
    // Success-rate and failure-percentage ejection are off but fully specified.
    enforcing_success_rate: u32(0),
    success_rate_minimum_hosts: u32(5),
    success_rate_request_volume: u32(100),
    success_rate_stdev_factor: u32(1900),
    consecutive_gateway_failure: u32(consecutive),
    enforcing_consecutive_gateway_failure: u32(100),
    // Connection failures (a dead backend) count as errors of the host.
    split_external_local_origin_errors: false,
    consecutive_local_origin_failure: u32(consecutive),
    enforcing_consecutive_local_origin_failure: u32(100),
    enforcing_local_origin_success_rate: u32(0),
    failure_percentage_threshold: u32(85),
    enforcing_failure_percentage: u32(0),
    enforcing_failure_percentage_local_origin: u32(0),
    failure_percentage_minimum_hosts: u32(5),
    failure_percentage_request_volume: u32(50),
    max_ejection_time: duration(MAX_EJECTION_TIME_MS),
    max_ejection_time_jitter: { seconds: 0 },
    successful_active_health_check_uneject_host: { value: true },
    always_eject_one_host: { value: false },
  };
}

/**
 * gRPC (gRFC A50) implements only success-rate and failure-percentage ejection; the consecutive-5xx and
 * gateway/local-origin settings above are Envoy's alone. Without failure-percentage, a proxyless client
 * never leaves a local host that is up but answers errors. Sized for small clusters: one host with 10
 * calls in an interval, half of them failing, is ejected (then gRPC's priority policy moves on).
 */
export const GRPC_FAILURE_PERCENTAGE_THRESHOLD = 50;
export const GRPC_FAILURE_PERCENTAGE_MINIMUM_HOSTS = 1;
export const GRPC_FAILURE_PERCENTAGE_REQUEST_VOLUME = 10;

/** Outlier detection for proxyless gRPC views: Envoy's fields unchanged, failure-percentage enforced. */
export function grpcOutlierDetection(tuning: OutlierTuning = {}): OutlierDetection {
  return {
    ...outlierDetection(tuning),
    failure_percentage_threshold: u32(GRPC_FAILURE_PERCENTAGE_THRESHOLD),
    enforcing_failure_percentage: u32(100),
    failure_percentage_minimum_hosts: u32(GRPC_FAILURE_PERCENTAGE_MINIMUM_HOSTS),
    failure_percentage_request_volume: u32(GRPC_FAILURE_PERCENTAGE_REQUEST_VOLUME),
  };
}
