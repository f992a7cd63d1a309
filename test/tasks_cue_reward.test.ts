/**
 * The cue-reward environment (PAPER.md §2.1): every rule of the authors' `srbatch.py` pinned (cues,
 * trial structure, Go step, rewards and their timing, the 27-input layout), then the paper text's
 * 24-input variant and the appendix's one-hot cues.
 */
import { describe, expect, test } from 'vitest';
import { Rng } from '../src/autograd/index.js';
import { BLANK, CueRewardEnv, GO, type CueRewardOptions } from '../src/tasks/cue_reward.js';

const make = (extra: Partial<CueRewardOptions> = {}) => new CueRewardEnv({ batchSize: 6, rng: new Rng(5), ...extra });

/** Runs one episode with actions from `policy`, returning every step's inputs, actions and rewards. */
function play(env: CueRewardEnv, policy: (t: number, b: number) => number) {
  const steps: { obs: Float64Array; actions: number[]; reward: Float64Array }[] = [];
  let obs: Float64Array | null = env.reset();
  for (let t = 0; obs; t++) {
    const actions = Array.from({ length: env.batchSize }, (_, b) => policy(t, b));
    const res = env.step(actions);
    steps.push({ obs, actions, reward: res.reward });
    obs = res.obs;
  }
  return steps;
}

/** Splits a schedule into trials, each starting with the blank that precedes its cues. */
function trials(schedule: Int8Array): number[][] {
  const out: number[][] = [];
  let cur: number[] = [];
  for (let t = 0; t < schedule.length; t++) {
    cur.push(schedule[t]);
    // A trial ends with the blank after its Go step.
    if (t > 0 && schedule[t - 1] === GO) {
      out.push(cur);
      cur = [];
    }
  }
  if (cur.length) out.push(cur);
  return out;
}

describe('cue-reward, the code\'s version (default)', () => {
  test('sizes: 27 inputs, 2 actions, 120 steps', () => {
    const env = make();
    expect([env.inputSize, env.numActions, env.episodeLength]).toEqual([27, 2, 120]);
    expect(env.reset()).toHaveLength(6 * 27);
  });

  test('cues: 4 distinct ±1 vectors of 20 bits per episode, drawn afresh each episode; Target uniform', () => {
    const env = make({ batchSize: 50 });
    env.reset();
    const first = env.cueVectors.map((v) => [...v]);
    const targets = new Array<number>(4).fill(0);
    for (let b = 0; b < 50; b++) {
      const v = env.cueVectors[b];
      expect(v).toHaveLength(80);
      expect([...v].every((x) => x === 1 || x === -1)).toBe(true);
      const cues = [0, 1, 2, 3].map((k) => v.subarray(k * 20, k * 20 + 20).join(','));
      expect(new Set(cues).size).toBe(4);
      targets[env.targets[b]]++;
    }
    for (let rep = 0; rep < 20; rep++) {
      env.reset();
      for (let b = 0; b < 50; b++) targets[env.targets[b]]++;
    }
    // 1050 draws: each of the 4 cues is the Target about a quarter of the time.
    for (const n of targets) expect(Math.abs(n / 1050 - 0.25)).toBeLessThan(0.05);
    expect(env.cueVectors.map((v) => [...v])).not.toEqual(first);
  });

  test('trials: [blank] + shuffle(2 distinct cues + 0-3 blanks) + [Go] + [blank], back to back, truncated at 120', () => {
    const env = make({ batchSize: 40 });
    const lengths = new Map<number, number>();
    let count = 0;
    let shown = 0;
    for (let rep = 0; rep < 5; rep++) {
      env.reset();
      for (let b = 0; b < 40; b++) {
        const sched = env.schedule[b];
        expect(sched).toHaveLength(120);
        const ts = trials(sched);
        for (const [i, trial] of ts.entries()) {
          const complete = i < ts.length - 1;
          if (!complete) continue;
          count++;
          lengths.set(trial.length, (lengths.get(trial.length) ?? 0) + 1);
          expect(trial[0]).toBe(BLANK);
          expect(trial.at(-2)).toBe(GO);
          expect(trial.at(-1)).toBe(BLANK);
          const middle = trial.slice(1, -2);
          const cues = middle.filter((x) => x >= 0);
          expect(cues).toHaveLength(2);
          expect(new Set(cues).size).toBe(2);
          expect(middle.filter((x) => x === BLANK)).toHaveLength(middle.length - 2);
          // The right answer on the Go step: 1 iff the Target was among this trial's cues.
          const goAt = ts.slice(0, i).reduce((a, tr) => a + tr.length, 0) + trial.length - 2;
          expect(env.answers[b][goAt]).toBe(cues.includes(env.targets[b]) ? 1 : 0);
          shown += env.answers[b][goAt];
        }
      }
    }
    expect([...lengths.keys()].sort()).toEqual([5, 6, 7, 8]);
    for (const n of lengths.values()) expect(n / count).toBeGreaterThan(0.2);
    // P(Target shown) = 1/2; about 120 / 6.5 ≈ 18.5 trials per episode (PAPER.md §2.1).
    expect(Math.abs(shown / count - 0.5)).toBeLessThan(0.04);
    expect(count / 200).toBeGreaterThan(17);
    expect(count / 200).toBeLessThan(19);
  });

  test('inputs at every step: cue bits, Go bit, bias, t/120, previous reward, unused slot, one-hot previous action', () => {
    const env = make();
    const rng = new Rng(9);
    const steps = play(env, () => rng.int(2));
    for (const [t, { obs }] of steps.entries()) {
      for (let b = 0; b < 6; b++) {
        const row = obs.subarray(b * 27, (b + 1) * 27);
        const shows = env.schedule[b][t];
        const cue = shows >= 0 ? [...env.cueVectors[b].subarray(shows * 20, shows * 20 + 20)] : new Array(20).fill(0);
        expect([...row.subarray(0, 20)]).toEqual(cue);
        expect(row[20]).toBe(shows === GO ? 1 : 0);
        expect(row[21]).toBe(1);
        expect(row[22]).toBe(t / 120);
        expect(row[23]).toBe(t === 0 ? 0 : steps[t - 1].reward[b]);
        expect(row[24]).toBe(0);
        const prev = t === 0 ? [0, 0] : [0, 1].map((a) => Number(steps[t - 1].actions[b] === a));
        expect([...row.subarray(25, 27)]).toEqual(prev);
      }
    }
  });

  test('rewards: ±1 for the Go-step answer only; answering 1 elsewhere costs the penalty', () => {
    for (const penalty of [0, 0.25]) {
      const env = make({ penalty });
      const rng = new Rng(2);
      const steps = play(env, () => rng.int(2));
      let goSteps = 0;
      for (const [t, { actions, reward }] of steps.entries()) {
        for (let b = 0; b < 6; b++) {
          if (env.schedule[b][t] === GO) {
            goSteps++;
            expect(reward[b]).toBe(actions[b] === env.answers[b][t] ? 1 : -1);
          } else {
            expect(reward[b]).toBe(actions[b] === 1 ? -penalty : 0);
          }
        }
      }
      expect(goSteps).toBeGreaterThan(6 * 15);
    }
  });

  test('a perfect agent earns one +1 per trial; always answering 0 scores about 0', () => {
    const env = make({ batchSize: 20 });
    const perfect = play(env, (t, b) => (env.schedule[b][t] === GO ? env.answers[b][t] : 0));
    const trialsDone = env.schedule.reduce((a, s) => a + s.filter((x) => x === GO).length, 0);
    expect(perfect.reduce((a, s) => a + s.reward.reduce((x, y) => x + y, 0), 0)).toBe(trialsDone);
    const lazy = play(env, () => 0);
    expect(Math.abs(lazy.reduce((a, s) => a + s.reward.reduce((x, y) => x + y, 0), 0) / 20)).toBeLessThan(5);
    expect(make({ reward: 2.5 }).config.reward).toBe(2.5);
  });

  test('seeded and deterministic: same seed, same episodes; another seed, others', () => {
    const run = (seed: number) => {
      const env = make({ rng: new Rng(seed) });
      return play(env, (t, b) => (t + b) % 2).map((s) => [...s.obs, ...s.reward]);
    };
    expect(run(1)).toEqual(run(1));
    expect(run(1)).not.toEqual(run(2));
  });

  test('misuse: wrong action count or value, stepping past the end', () => {
    const env = make({ episodeLength: 2 });
    env.reset();
    expect(() => env.step([0, 1])).toThrow(/expected 6 actions/);
    expect(() => env.step([0, 0, 0, 0, 0, 2])).toThrow(/actions\[5\] = 2/);
    env.step([0, 0, 0, 0, 0, 0]);
    expect(env.step([0, 0, 0, 0, 0, 0]).obs).toBeNull();
    expect(() => env.step([0, 0, 0, 0, 0, 0])).toThrow(/ended after 2 steps/);
    expect(() => make({ cueSize: 2, numCues: 4 })).toThrow(/distinct/);
    expect(() => make({ numCues: 1 })).toThrow(/numCues/);
  });
});

describe('cue-reward, the paper text\'s and the appendix\'s variants', () => {
  test("paper layout: 24 inputs (20 cue bits, time, one-hot previous action, previous reward); the Response cue is all ones", () => {
    const env = make({ layout: 'paper', episodeLength: 200 });
    expect([env.inputSize, env.episodeLength]).toEqual([24, 200]);
    const rng = new Rng(4);
    const steps = play(env, () => rng.int(2));
    expect(steps).toHaveLength(200);
    for (const [t, { obs }] of steps.entries()) {
      for (let b = 0; b < 6; b++) {
        const row = obs.subarray(b * 24, (b + 1) * 24);
        const shows = env.schedule[b][t];
        const cue = shows >= 0 ? [...env.cueVectors[b].subarray(shows * 20, shows * 20 + 20)] : new Array(20).fill(shows === GO ? 1 : 0);
        expect([...row.subarray(0, 20)]).toEqual(cue);
        expect(row[20]).toBe(t / 200);
        expect([...row.subarray(21, 23)]).toEqual(t === 0 ? [0, 0] : [0, 1].map((a) => Number(steps[t - 1].actions[b] === a)));
        expect(row[23]).toBe(t === 0 ? 0 : steps[t - 1].reward[b]);
      }
    }
    // No random cue equals the all-ones Response cue.
    for (const v of env.cueVectors) for (let k = 0; k < 4; k++) expect(v.subarray(k * 20, k * 20 + 20).every((x) => x === 1)).toBe(false);
  });

  test("appendix cues: the fixed one-hot '1000', '0100', '0010', '0001' in every episode (11 inputs in the code layout)", () => {
    const env = make({ cues: 'onehot' });
    expect(env.inputSize).toBe(11);
    for (let rep = 0; rep < 3; rep++) {
      env.reset();
      for (const v of env.cueVectors) expect([...v]).toEqual([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
    }
    const obs = env.reset();
    const t0cue = env.schedule.map((s) => s[0]);
    expect(t0cue.every((x) => x === BLANK)).toBe(true);
    expect([...obs.subarray(0, 11)]).toEqual([0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0]);
  });
});
