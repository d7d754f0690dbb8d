import { credentials, loadPackageDefinition, type Client, type ClientDuplexStream } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { JobState, type GatewayClient } from '@vanelia/proto';
import { checkHealth, REPO_ROOT } from '@vanelia/runtime';
import { cancelJob, gatewayClient, getJob, listJobs, specFromArgs, submitJob } from '@vanelia/cli';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../services/gateway/test/helpers/redis-server';
import { makeTestVideo } from '../helpers/video';
import { spawnService, type ExtraService } from './gateway-helpers';

const run = promisify(execFile);

/** A CA, a server certificate for localhost/127.0.0.1 and a client certificate, made with openssl now. */
async function makeCertificates(dir: string, name: string): Promise<{ ca: string; cert: string; key: string; serverCert: string; serverKey: string }> {
  const p = (f: string): string => join(dir, `${name}-${f}`);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run('openssl', ['req', '-x509', ...ec, '-keyout', p('ca.key'), '-out', p('ca.crt'), '-subj', `/CN=${name} test CA`, '-days', '2']);
  const issue = async (who: string, subject: string, extensions: string): Promise<void> => {
    await run('openssl', ['req', '-new', ...ec, '-keyout', p(`${who}.key`), '-out', p(`${who}.csr`), '-subj', subject]);
    await writeFile(p(`${who}.ext`), extensions);
    await run('openssl', ['x509', '-req', '-in', p(`${who}.csr`), '-CA', p('ca.crt'), '-CAkey', p('ca.key'), '-CAcreateserial', '-out', p(`${who}.crt`), '-days', '2', '-extfile', p(`${who}.ext`)]);
  };
  await issue('server', '/CN=localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  await issue('client', '/CN=platform-team', 'extendedKeyUsage=clientAuth\n');
  return { ca: p('ca.crt'), cert: p('client.crt'), key: p('client.key'), serverCert: p('server.crt'), serverKey: p('server.key') };
}

type ReflectionCall = ClientDuplexStream<Record<string, unknown>, Record<string, any>>;

/** One server-reflection request (v1alpha, as grpcurl sends), answered by one response. */
async function reflect(address: string, creds: ReturnType<typeof credentials.createInsecure>, request: Record<string, unknown>): Promise<Record<string, any>> {
  const definition = loadSync(join(REPO_ROOT, 'node_modules', '@grpc', 'reflection', 'build', 'proto', 'grpc', 'reflection', 'v1alpha', 'reflection.proto'), { keepCase: true });
  const pkg = loadPackageDefinition(definition) as any;
  const client = new pkg.grpc.reflection.v1alpha.ServerReflection(address, creds) as Client & { ServerReflectionInfo(): ReflectionCall };
  try {
    const call = client.ServerReflectionInfo();
    const answer = new Promise<Record<string, any>>((resolve, reject) => {
      call.once('data', resolve);
      call.once('error', reject);
    });
    call.write(request);
    call.end();
    return await answer;
  } finally {
    client.close();
  }
}

/** Public API behind mutual TLS on its own port; reflection as grpcurl uses it; the CLI's five commands. */
describe('gateway access: mutual TLS, reflection, CLI', () => {
  let dir: string;
  let gateway: ExtraService;
  let tlsAddress: string;
  let certs: Awaited<ReturnType<typeof makeCertificates>>;
  let stranger: Awaited<ReturnType<typeof makeCertificates>>;

  const tlsClient = (c = certs, withCert = true): GatewayClient =>
    gatewayClient(tlsAddress, { tls: { caFile: certs.ca, certFile: withCert ? c.cert : undefined, keyFile: withCert ? c.key : undefined } });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vanelia-gw-access-'));
    [certs, stranger] = await Promise.all([makeCertificates(dir, 'ours'), makeCertificates(dir, 'stranger')]);
    const storage = join(dir, 'storage');
    await mkdir(storage, { recursive: true });
    await makeTestVideo(join(storage, 'in.mp4'), { widthPx: 64, heightPx: 48, fps: '25', frames: 10 });
    const tlsPort = await freePort();
    // No stage is reachable: jobs stay at their first step, which is all these tests need.
    gateway = await spawnService('gateway', {
      VANELIA_STORAGE_ROOT: storage,
      VANELIA_TLS_PORT: String(tlsPort),
      VANELIA_TLS_CERT_FILE: certs.serverCert,
      VANELIA_TLS_KEY_FILE: certs.serverKey,
      VANELIA_TLS_CLIENT_CA_FILE: certs.ca,
      VANELIA_DECODER_ADDR: '127.0.0.1:1',
      VANELIA_POSE_ADDR: '127.0.0.1:1',
      VANELIA_COMPOSITOR_ADDR: '127.0.0.1:1',
      VANELIA_INPAINT_ADDR: '127.0.0.1:1',
    });
    tlsAddress = `localhost:${tlsPort}`; // the name in the server certificate
  });

  afterAll(async () => {
    await gateway?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('takes API calls from a client certificate the CA signed, and refuses the rest', async () => {
    const ours = tlsClient();
    expect((await listJobs(ours)).jobs).toEqual([]);
    expect(await getJob(ours, 'nope').catch((e: { code: string }) => e.code)).toBe('NOT_FOUND');
    ours.close();
    for (const client of [tlsClient(certs, false), tlsClient(stranger)]) {
      const error = await listJobs(client).catch((e: { code: string }) => e);
      client.close();
      expect(error).toMatchObject({ code: 'UNAVAILABLE' });
    }
  });

  it('refuses the API on the plain port (probes only), which still answers health', async () => {
    const plain = gatewayClient(gateway.address);
    const error = await listJobs(plain).catch((e: unknown) => e);
    plain.close();
    expect(error).toMatchObject({ code: 'UNAUTHENTICATED', message: 'gateway: this port takes no API calls; use the TLS port with a client certificate.' });
    await expect(checkHealth(gateway.address)).resolves.toBe('SERVING');
  });

  it('serves reflection, as grpcurl uses it, on both ports', async () => {
    const tls = credentials.createSsl(readFileSync(certs.ca), readFileSync(certs.key), readFileSync(certs.cert));
    for (const [address, creds] of [[tlsAddress, tls], [gateway.address, credentials.createInsecure()]] as const) {
      const listed = await reflect(address, creds, { list_services: '' });
      const names = (listed.list_services_response.service as Array<{ name: string }>).map((s) => s.name);
      expect(names).toContain('vanelia.v1.Gateway');
      const file = await reflect(address, creds, { file_containing_symbol: 'vanelia.v1.Gateway' });
      const descriptor = Buffer.concat(file.file_descriptor_response.file_descriptor_proto as Buffer[]).toString('latin1');
      for (const method of ['SubmitJob', 'WatchJob', 'GetJob', 'ListJobs', 'CancelJob', 'GetResult', 'GetPreview']) expect(descriptor).toContain(method);
    }
  });

  it('the CLI submits, lists, gets, cancels and watches over mutual TLS', async () => {
    const cli = (...args: string[]) =>
      run(process.execPath, [join(REPO_ROOT, 'bin', 'vanelia.mjs'), ...args, '--gateway', tlsAddress, '--tls-ca', certs.ca, '--tls-cert', certs.cert, '--tls-key', certs.key], { cwd: dir }).then(
        (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
        (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
      );
    const submitted = await cli('submit', '--video-uri', 'in.mp4', '--no-refine', '--pose-backend', 'none', '--idempotency-key', 'cli-1');
    expect(submitted.code).toBe(0);
    const id = submitted.stdout.trim();
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const listed = await cli('list', '--state', 'running');
    expect([listed.code, listed.stdout]).toEqual([0, expect.stringContaining(id)]);
    const got = await cli('get', id);
    expect(JSON.parse(got.stdout)).toMatchObject({ id, state: 'JOB_STATE_RUNNING', attempts: 1 });
    const cancelled = await cli('cancel', id);
    expect(cancelled.stdout.trim()).toBe(`${id} JOB_STATE_CANCELLED`);
    const watched = await cli('watch', id);
    expect(watched.code).toBe(1);
    expect(watched.stderr).toContain('cancelled:cancelled');
    const badState = await cli('list', '--state', 'sleeping');
    expect([badState.code, badState.stderr]).toEqual([2, expect.stringContaining('--state is one of queued, running, succeeded, failed, cancelled')]);
    // The same job through the API: the idempotency key returns it.
    const client = tlsClient();
    const again = await submitJob(client, { ...specFromArgs({ 'no-refine': true }), poseBackend: 'none', videoUri: 'in.mp4', idempotencyKey: 'cli-1' });
    expect(again).toMatchObject({ id, state: JobState.JOB_STATE_CANCELLED });
    expect((await cancelJob(client, id)).state).toBe(JobState.JOB_STATE_CANCELLED);
    client.close();
  });
});
