import type { ServerReadableStream, ServerWritableStream } from '@grpc/grpc-js';
import {
  DecoderService,
  PixelFormat,
  type DecodeRequest,
  type DecodeResponse,
  type DecoderServer,
  type EncodeRequest,
  type EncodeResponse,
  type ProbeRequest,
  type VideoInfo,
} from '@vanelia/proto';
import {
  VaneliaError,
  clientStreamHandler,
  frameBatch,
  observeBatch,
  resolveStoragePath,
  storageRelative,
  streamHandler,
  unaryHandler,
  writeMessage,
  type Logger,
  type ServiceRegistration,
} from '@vanelia/runtime';
import { decodeFrames } from './decode';
import { FrameEncoder } from './encode';
import { probeVideo } from './probe';

export interface DecoderServerOptions {
  storageRoot: string;
  /** Frames a batch when the request says 0. */
  defaultBatchSize: number;
  logger: Logger;
}

/** Adapts the decoder's domain functions (probe, decode, encode) to vanelia.v1.Decoder. */
export function decoderService(options: DecoderServerOptions): ServiceRegistration {
  const ctx = { stage: 'decoder' as const, logger: options.logger };
  const storagePath = (path: string): string => resolveStoragePath('decoder', options.storageRoot, path);

  const implementation: DecoderServer = {
    probe: unaryHandler<ProbeRequest, VideoInfo>(ctx, 'Probe', async (request) => probeVideo(storagePath(request.sourcePath))),

    decode: streamHandler(ctx, 'Decode', async (call: ServerWritableStream<DecodeRequest, DecodeResponse>) => {
      const request = call.request;
      const source = storagePath(request.sourcePath);
      const info = await probeVideo(source);
      await writeMessage(call, { payload: { $case: 'info', value: info } });
      const abort = new AbortController();
      call.once('cancelled', () => abort.abort());
      let started = performance.now();
      for await (const frames of decodeFrames(source, info, {
        batchSize: request.batchSize || options.defaultBatchSize,
        startFrame: request.startFrame,
        endFrame: request.endFrame,
        format: request.format || PixelFormat.PIXEL_FORMAT_RGB8,
        signal: abort.signal,
      })) {
        observeBatch('decode', frames.length, (performance.now() - started) / 1000);
        await writeMessage(call, { payload: { $case: 'batch', value: frameBatch(request.jobId, frames) } });
        started = performance.now();
      }
    }),

    encode: clientStreamHandler<EncodeRequest, EncodeResponse>(ctx, 'Encode', async (call: ServerReadableStream<EncodeRequest, EncodeResponse>) => {
      let encoder: FrameEncoder | undefined;
      call.once('cancelled', () => encoder?.abort());
      try {
        for await (const message of call as AsyncIterable<EncodeRequest>) {
          const payload = message.payload;
          if (payload?.$case === 'config') {
            if (encoder) throw new VaneliaError('decoder', 'PROTOCOL', 'Encode got a second config message.');
            const config = payload.value;
            if (!config.video) throw new VaneliaError('decoder', 'PROTOCOL', 'Encode config has no video description.');
            const audioSource = config.audioSourcePath ? storagePath(config.audioSourcePath) : '';
            const audioCodec = audioSource ? (await probeVideo(audioSource)).audioCodec : '';
            encoder = await FrameEncoder.open(storagePath(config.outputPath), config.video, audioCodec, {
              crf: config.crf,
              preset: config.preset,
              audioSourcePath: audioSource,
              frameFormat: config.frameFormat || PixelFormat.PIXEL_FORMAT_RGB8,
            });
          } else if (payload?.$case === 'batch') {
            if (!encoder) throw new VaneliaError('decoder', 'PROTOCOL', 'Encode got frames before its config.');
            const started = performance.now();
            await encoder.write(payload.value.frames);
            observeBatch('encode', payload.value.frames.length, (performance.now() - started) / 1000);
          }
        }
        if (!encoder) throw new VaneliaError('decoder', 'PROTOCOL', 'Encode stream ended without a config.');
        const result = await encoder.finish();
        return {
          outputPath: storageRelative(options.storageRoot, result.outputPath),
          frameCount: result.frameCount,
          sizeBytes: result.sizeBytes,
          audioCopied: result.audioCopied,
        };
      } catch (error) {
        encoder?.abort();
        throw error;
      }
    }),
  };
  return { fullName: 'vanelia.v1.Decoder', definition: DecoderService, implementation };
}
