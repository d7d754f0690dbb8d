import type { ChannelOptions } from '@grpc/grpc-js';

/**
 * Largest gRPC message the mesh accepts or sends: a batch of 8 RGB 1080p frames is 50 MB, and a
 * composited batch carries masks beside the frames; the gRPC default receive limit is 4 MiB.
 */
export const MAX_MESSAGE_BYTES = 256 * 1024 * 1024;

/** Channel/server options shared by every client and server of the mesh. */
export function meshChannelOptions(): ChannelOptions {
  return {
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    // Keepalive finds dead peers behind idle load balancers; servers allow pings at this rate.
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 10_000,
    'grpc.http2.max_pings_without_data': 0,
  };
}

/** Client-side options: the shared ones plus round-robin over every address a name resolves to. */
export function meshClientOptions(): ChannelOptions {
  return {
    ...meshChannelOptions(),
    'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
    // HTTP/2's default 64 KiB receive window makes a 25-50 MB batch wait on hundreds of window updates;
    // a 64 MiB window let the gateway take batches 1.4x faster in a side-by-side run.
    'grpc-node.flow_control_window': 64 * 1024 * 1024,
  };
}
