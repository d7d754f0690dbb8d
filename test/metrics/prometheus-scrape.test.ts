import { JobState } from '@vanelia/proto';
import { gatewayClient, specFromArgs, startLocalMesh, submitJob, watchJob, type LocalMesh } from '@vanelia/cli';
import { REPO_ROOT } from '@vanelia/runtime';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../services/gateway/test/helpers/redis-server';
import { eventually } from '../e2e/gateway-helpers';
import { makeTestVideo } from '../helpers/video';

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

const FRAMES = 96;

/** A real Prometheus (Debian's) scrapes the five services' /metrics while a job runs; its API is queried. */
describe('Prometheus scraping the mesh', () => {
  let dir: string;
  let mesh: LocalMesh;
  let prometheus: ChildProcess;
  let promUrl: string;
  let jobId = '';

  const query = async (expr: string): Promise<Sample[]> => {
    const response = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await response.json()) as { status: string; error?: string; data: { result: Sample[] } };
    if (body.status !== 'success') throw new Error(`prometheus: ${expr}: ${body.error}`);
    return body.data.result;
  };
  const value = async (expr: string): Promise<number> => Number((await query(expr))[0]?.value[1] ?? NaN);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vanelia-prom-'));
    const video = join(dir, 'in.mp4');
    await makeTestVideo(video, { widthPx: 320, heightPx: 240, fps: '25', frames: FRAMES });
    mesh = await startLocalMesh({ storageRoot: join(dir, 'storage'), env: { VANELIA_LOG_LEVEL: 'warn' }, serviceEnv: { gateway: { VANELIA_SEGMENT_FRAMES: '48' } } });
    const jobs = Object.values(mesh.services).map((s) => `  - job_name: ${s.name}\n    static_configs:\n      - targets: ['127.0.0.1:${s.metricsPort}']`);
    const config = join(dir, 'prometheus.yml');
    await writeFile(config, `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n${jobs.join('\n')}\n`);
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    prometheus = spawn('prometheus', [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: 'ignore' });
    await eventually(
      'every target up in Prometheus',
      async () => {
        try {
          const targets = (await (await fetch(`${promUrl}/api/v1/targets`)).json()) as { data: { activeTargets: Array<{ health: string }> } };
          return targets.data.activeTargets.length === 5 && targets.data.activeTargets.every((t) => t.health === 'up');
        } catch {
          return false;
        }
      },
      60_000,
    );
    const client = gatewayClient(mesh.gatewayAddress);
    const job = await submitJob(client, { ...specFromArgs({ 'no-refine': true }), poseBackend: 'none' }, { videoPath: video });
    const last = await watchJob(client, job.id, () => undefined);
    client.close();
    expect(last.state).toBe(JobState.JOB_STATE_SUCCEEDED);
    jobId = job.id;
  });

  afterAll(async () => {
    if (prometheus && prometheus.exitCode === null) {
      const exited = new Promise((resolve) => prometheus.once('exit', resolve));
      prometheus.kill('SIGTERM');
      await exited;
    }
    await mesh?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("shows the job's frames through every stage, and the job itself", async () => {
    expect(jobId).not.toBe('');
    await eventually('the scrape after the job', async () => (await value('vanelia_jobs_total{job="gateway", outcome="succeeded"}')) === 1, 15_000);
    // Each target is scraped on its own schedule: wait until every stage's latest sample postdates the job.
    const framesByStage = async (): Promise<Record<string, number>> =>
      Object.fromEntries((await query('sum by (stage) (vanelia_stage_frames_total)')).map((s) => [s.metric.stage, Number(s.value[1])]));
    await eventually('every target scraped after the job', async () => Object.values(await framesByStage()).filter((n) => n === FRAMES).length === 3, 15_000).catch(() => undefined);
    const byStage = await framesByStage();
    expect(byStage).toEqual({ decode: FRAMES, composite: FRAMES, encode: FRAMES });
    // Which process counted them: the decoder decodes and encodes, the compositor composites.
    expect(await value('sum(vanelia_stage_frames_total{job="decoder", stage="decode"})')).toBe(FRAMES);
    expect(await value('sum(vanelia_stage_frames_total{job="compositor"})')).toBe(FRAMES);
    expect(await value('vanelia_job_duration_seconds_count{job="gateway", outcome="succeeded"}')).toBe(1);
    expect(await value('vanelia_job_duration_seconds_sum{job="gateway", outcome="succeeded"}')).toBeGreaterThan(0);
    // 96 frames in batches of 8: 12 composite round trips seen by the gateway, 12 batches in the compositor.
    expect(await value('vanelia_stage_batch_roundtrip_seconds_count{job="gateway", stage="composite"}')).toBe(FRAMES / 8);
    expect(await value('sum(vanelia_stage_batch_frames_count{job="compositor"})')).toBe(FRAMES / 8);
    expect(await value('sum(vanelia_service_ready)')).toBe(5);
    expect(await value('sum(vanelia_stage_queue_depth)')).toBe(0);
    expect(await value('vanelia_rpc_requests_total{job="gateway", method="SubmitJob", code="OK"}')).toBe(1);
  });

  it("evaluates every Grafana panel's query (the deploy dashboard) without error", async () => {
    const dashboard = JSON.parse(readFileSync(join(REPO_ROOT, 'deploy', 'grafana', 'vanelia.json'), 'utf8')) as { panels: Array<{ title: string; targets?: Array<{ expr: string }>; panels?: unknown[] }> };
    const panels = dashboard.panels.flatMap((p) => [p, ...((p.panels ?? []) as typeof dashboard.panels)]);
    const emptyPanels = async (): Promise<string[]> => {
      const empty: string[] = [];
      for (const panel of panels) {
        for (const target of panel.targets ?? []) {
          const expr = target.expr.replace(/\$__rate_interval/g, '30s').replace(/\$\{?\w+\}?/g, '.*');
          if ((await query(expr)).length === 0) empty.push(panel.title);
        }
      }
      return empty;
    };
    // The job panels have data once two scrapes saw the job's counters.
    const needed = ['Jobs finished / s', 'Frames / s by stage', 'Job duration p50 / p95', 'Mean batch size by stage', 'Ready replicas', 'RPCs / s by code'];
    let empty: string[] = [];
    await eventually('the job panels to have data', async () => {
      empty = await emptyPanels();
      return needed.every((title) => !empty.includes(title));
    }, 20_000);
    console.log(`dashboard panels without data after one pass-through job: ${empty.join('; ') || 'none'}`);
  });
});
