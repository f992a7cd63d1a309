/**
 * The grid maze (PAPER.md §2.2, the authors' `maze/batch.py`): the layout, the start, the invisible
 * reward cell, moves and wall collisions, reward timing and teleport, the 17-input layout.
 */
import { describe, expect, test } from 'vitest';
import { Rng } from '../src/autograd/index.js';
import { MazeEnv, mazeWalls, type MazeOptions } from '../src/tasks/maze.js';

const make = (extra: Partial<MazeOptions> = {}) => new MazeEnv({ batchSize: 5, rng: new Rng(3), ...extra });
const UP = 0, DOWN = 1, LEFT = 2, RIGHT = 3;

/** The first action of a shortest path from `from` to `to` (breadth-first search over free cells). */
function towards(env: MazeEnv, from: number, to: number): number {
  const size = env.config.size;
  const moves = [-size, size, -1, 1];
  const firstMove = new Map<number, number>([[from, -1]]);
  const queue = [from];
  while (queue.length) {
    const cell = queue.shift()!;
    if (cell === to) return firstMove.get(cell)!;
    for (const [a, d] of moves.entries()) {
      const next = cell + d;
      if (env.walls[next] || firstMove.has(next)) continue;
      firstMove.set(next, cell === from ? a : firstMove.get(cell)!);
      queue.push(next);
    }
  }
  throw new Error('unreachable');
}

describe('maze layout', () => {
  test.each([
    [13, 24, 97],
    [11, 16, 65],
  ])('size %i: wall border, %i pillars at even (row, col), %i free cells, centre free', (size, pillars, free) => {
    const walls = mazeWalls(size);
    const at = (r: number, c: number) => walls[r * size + c];
    let interiorWalls = 0;
    for (let r = 0; r < size; r++) {
      for (let c = 0; c < size; c++) {
        const border = r === 0 || c === 0 || r === size - 1 || c === size - 1;
        if (border) expect(at(r, c)).toBe(1);
        else interiorWalls += at(r, c);
        if (!border && !(r === size >> 1 && c === size >> 1)) expect(at(r, c)).toBe(r % 2 === 0 && c % 2 === 0 ? 1 : 0);
      }
    }
    expect(interiorWalls).toBe(pillars);
    expect(walls.length - [...walls].reduce((a, b) => a + b, 0)).toBe(free);
    expect(at(size >> 1, size >> 1)).toBe(0);
    expect(new MazeEnv({ batchSize: 1, rng: new Rng(0), size }).freeCells).toHaveLength(free);
  });

  test('defaults: size 13, 200 steps, reward 10, no wall penalty, 17 inputs, 4 actions', () => {
    const env = make();
    expect(env.config).toEqual({ size: 13, episodeLength: 200, reward: 10, wallPenalty: 0 });
    expect([env.inputSize, env.numActions, env.episodeLength]).toEqual([17, 4, 200]);
    expect(() => mazeWalls(12)).toThrow(/odd/);
  });
});

describe('maze episodes', () => {
  test('every episode starts at the centre; the reward cell is uniform over the free cells but the centre', () => {
    const env = make({ batchSize: 100 });
    const counts = new Map<number, number>();
    for (let rep = 0; rep < 20; rep++) {
      env.reset();
      for (let b = 0; b < 100; b++) {
        expect(env.position[b]).toBe(env.centre);
        const r = env.rewardCell[b];
        expect(env.walls[r]).toBe(0);
        expect(r).not.toBe(env.centre);
        counts.set(r, (counts.get(r) ?? 0) + 1);
      }
    }
    expect(counts.size).toBe(96);
    // 2000 draws over 96 cells: about 21 each.
    for (const n of counts.values()) expect(n).toBeLessThan(50);
  });

  test('inputs: 3×3 wall neighbourhood, unused, bias, t/200, previous reward, one-hot previous action (up at t = 0)', () => {
    const env = make({ wallPenalty: 0.5 });
    const rng = new Rng(8);
    let obs: Float64Array | null = env.reset();
    const size = 13;
    let prevReward: Float64Array = new Float64Array(5);
    let prevActions = [0, 0, 0, 0, 0];
    for (let t = 0; obs; t++) {
      for (let b = 0; b < 5; b++) {
        const row = obs.subarray(b * 17, (b + 1) * 17);
        const p = env.position[b];
        const around = [-1, 0, 1].flatMap((dr) => [-1, 0, 1].map((dc) => env.walls[p + dr * size + dc]));
        expect([...row.subarray(0, 9)]).toEqual(around);
        expect(row[4]).toBe(0);
        expect(row[9]).toBe(0);
        expect(row[10]).toBe(1);
        expect(row[11]).toBe(t / 200);
        expect(row[12]).toBe(prevReward[b]);
        expect([...row.subarray(13, 17)]).toEqual([0, 1, 2, 3].map((a) => Number(a === prevActions[b])));
      }
      prevActions = Array.from({ length: 5 }, () => rng.int(4));
      const res = env.step(prevActions);
      prevReward = res.reward;
      obs = res.obs;
    }
  });

  test('moves: up = row−1, down = row+1, left = col−1, right = col+1; a wall leaves the agent in place and costs wallPenalty', () => {
    const env = make({ batchSize: 4, wallPenalty: 0.1 });
    env.reset();
    // Park every episode's reward cell far away so that no move below hits it.
    env.rewardCell.fill(14);
    const c = env.centre;
    // From the centre (6,6) of the size-13 maze, (5,6), (7,6), (6,5), (6,7) are free.
    let r = env.step([UP, DOWN, LEFT, RIGHT]);
    expect([...env.position]).toEqual([c - 13, c + 13, c - 1, c + 1]);
    expect([...r.reward]).toEqual([0, 0, 0, 0]);
    // Above (5,6) and below (7,6) stand the pillars (4,6) and (8,6); (5,5) and (5,7) are free.
    r = env.step([UP, DOWN, UP, UP]);
    expect([...env.position]).toEqual([c - 13, c + 13, c - 1 - 13, c + 1 - 13]);
    expect([...r.reward]).toEqual([-0.1, -0.1, 0, 0]);
    // The wall input shows the pillar above.
    expect(r.obs![1]).toBe(1);
  });

  test('reaching the reward cell: +10 at that step, seen as input at the next, then a teleport to a free cell ≠ the reward cell', () => {
    const env = make({ batchSize: 3, rng: new Rng(11) });
    let obs: Float64Array | null = env.reset();
    const hits = [0, 0, 0];
    const landings = new Set<number>();
    for (let t = 0; obs; t++) {
      const targets = [...env.rewardCell];
      const actions = [0, 1, 2].map((b) => towards(env, env.position[b], env.rewardCell[b]));
      const before = [...env.position];
      const res = env.step(actions);
      for (let b = 0; b < 3; b++) {
        const size = 13;
        const d = [-size, size, -1, 1][actions[b]];
        const arrived = before[b] + d === targets[b];
        expect(res.reward[b]).toBe(arrived ? 10 : 0);
        expect(env.rewardCell[b]).toBe(targets[b]);
        if (arrived) {
          hits[b]++;
          landings.add(env.position[b]);
          expect(env.position[b]).not.toBe(targets[b]);
          expect(env.walls[env.position[b]]).toBe(0);
        } else {
          expect(env.position[b]).toBe(before[b] + d);
        }
        if (res.obs) expect(res.obs[b * 17 + 12]).toBe(res.reward[b]);
      }
      obs = res.obs;
    }
    // A shortest-path agent hits the reward every few steps.
    for (const h of hits) expect(h).toBeGreaterThan(15);
    expect(landings.size).toBeGreaterThan(10);
  });

  test('200 steps per episode; seeded and deterministic', () => {
    const run = (seed: number) => {
      const env = make({ rng: new Rng(seed) });
      const rng = new Rng(0);
      const out: number[] = [...env.reset()];
      for (let t = 0; t < 200; t++) {
        const res = env.step(Array.from({ length: 5 }, () => rng.int(4)));
        out.push(...res.reward, ...(res.obs ?? []));
        if (t === 199) expect(res.obs).toBeNull();
      }
      expect(() => env.step([0, 0, 0, 0, 0])).toThrow(/ended after 200 steps/);
      return out;
    };
    expect(run(4)).toEqual(run(4));
    expect(run(4)).not.toEqual(run(5));
  });
});
