/**
 * Property tests: after any sequence of maps and unmaps, every format translates exactly as the
 * reference model says (PA, page size, permission fault or not-present), `unmap` returns what the
 * kernel would, `mappedBytes` and the list of leaves match, and every earlier version still
 * translates as it did when it was current (copy on write is sound).
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MapError } from '../../../../engine/iommu/pgtable/index.js';
import type { IoPageTable, PhysSource } from '../../../../engine/iommu/pgtable/index.js';
import type { PageTableFormat } from '../../../../engine/state.js';
import { table } from './helpers.js';
import { emptyModel, expectWalk, modelMap, modelUnmap } from './model.js';
import type { ModelConfig, ModelState } from './model.js';

interface Scenario {
    readonly name: string;
    readonly format: PageTableFormat;
    readonly ias: number;
    readonly model: ModelConfig;
    /** IOVA frames the generated ranges start near. */
    readonly regions: readonly number[];
}

function scenario(name: string, format: PageTableFormat, ias: number, top: number, topSlotsLg2: number, regions: number[]): Scenario {
    const amd = format === 'amd-v1';
    const sizes = amd ? Array.from({ length: 40 }, (_, s) => s).filter((s) => s !== 27) : [0, 9, 18];
    const usable = format === 'x86-64' ? ias - 1 : ias;
    return {
        name,
        format,
        ias,
        regions,
        model: {
            format,
            ias,
            sizes,
            top,
            maxTop: amd ? 5 : top,
            topSlotsLg2,
            apertureLastPfn: 2 ** (usable - 12) - 1,
        },
    };
}

const G = 2 ** 18;
const SCENARIOS: readonly Scenario[] = [
    scenario('vtd-ss, 39-bit (3 levels)', 'vtd-ss', 39, 2, 9, [0, G, 2 ** 27 - 2 * G]),
    scenario('vtd-ss, 48-bit (4 levels)', 'vtd-ss', 48, 3, 9, [0, G, 2 ** 27 - G, 2 ** 36 - 2 * G]),
    scenario('x86-64, 48-bit (lower half)', 'x86-64', 48, 3, 9, [0, G, 2 ** 35 - 2 * G]),
    scenario('amd-v1, 64-bit (grows from 3 levels)', 'amd-v1', 64, 2, 9, [0, G, 2 ** 27 - G, 2 ** 36, 2 ** 45 + G]),
    scenario('arm-lpae-s1, 48-bit', 'arm-lpae-s1', 48, 3, 9, [0, G, 2 ** 27 - G, 2 ** 36 - 2 * G]),
    scenario('arm-lpae-s2, 40-bit (concatenated pgd)', 'arm-lpae-s2', 40, 2, 10, [0, 2 ** 27 - G, 2 ** 28 - 2 * G]),
];

/** A physical source over runs of `[papfn, frames]`. */
function runsSource(runs: readonly (readonly [number, number])[]): PhysSource {
    return (offset) => {
        let at = Number(offset / 4096n);
        for (const [papfn, n] of runs) {
            if (at < n) {
                return { pa: (papfn + at) * 4096, length: BigInt(n - at) * 4096n };
            }
            at -= n;
        }
        throw new Error('offset beyond the runs');
    };
}

const granule = fc.constantFrom(0, 1, 2, 3, 9, 10, 18);

const mapOp = fc.record({
    kind: fc.constant('map' as const),
    region: fc.nat(),
    off: fc.integer({ min: 0, max: 2 ** 20 }),
    g: granule,
    count: fc.integer({ min: 1, max: 3 }),
    extra: fc.integer({ min: 0, max: 3 }),
    runs: fc.array(fc.record({ cut: fc.integer({ min: 1, max: 100 }), seed: fc.integer({ min: 1, max: 4000 }), shift: fc.constantFrom(0, 1, 2, 512, 513) }), { minLength: 1, maxLength: 3 }),
    prot: fc.constantFrom(1, 2, 3),
});
const unmapPrevOp = fc.record({ kind: fc.constant('unmapPrev' as const), pick: fc.nat() });
const unmapRandomOp = fc.record({
    kind: fc.constant('unmapRandom' as const),
    region: fc.nat(),
    off: fc.integer({ min: 0, max: 2 ** 20 }),
    g: granule,
    count: fc.integer({ min: 1, max: 4 }),
    extra: fc.integer({ min: 0, max: 3 }),
});
/** Unmap starting at (or just inside) an existing leaf, for a length around its size. */
const unmapLeafOp = fc.record({
    kind: fc.constant('unmapLeaf' as const),
    pick: fc.nat(),
    inside: fc.boolean(),
    len: fc.constantFrom(-1, 0, 1, 2, 3),
});
/** Map a large aligned block over an existing leaf (an overlap: refused, or an ARM table replaced). */
const mapOverOp = fc.record({ kind: fc.constant('mapOver' as const), pick: fc.nat(), g: fc.constantFrom(9, 18), seed: fc.integer({ min: 1, max: 4000 }) });
const ops = fc.array(
    fc.oneof(
        { weight: 6, arbitrary: mapOp },
        { weight: 2, arbitrary: unmapPrevOp },
        { weight: 1, arbitrary: unmapRandomOp },
        { weight: 3, arbitrary: unmapLeafOp },
        { weight: 1, arbitrary: mapOverOp },
    ),
    { minLength: 1, maxLength: 20 },
);

/** Frames worth probing: leaves' edges and middles, the frames around them, the aperture edge. */
function probes(s: Scenario, m: ModelState): number[] {
    const out = new Set<number>([0, s.model.apertureLastPfn, s.model.apertureLastPfn + 1]);
    // Every leaf when there are few; an even sample (first and last included) when there are many.
    const step = Math.max(1, Math.floor(m.leaves.length / 200));
    const picked = m.leaves.filter((_, i) => i % step === 0 || i === m.leaves.length - 1);
    for (const l of picked) {
        const n = 2 ** l.sizeLg2;
        for (const f of [l.ipfn - 1, l.ipfn, l.ipfn + Math.floor(n / 2), l.ipfn + n - 1, l.ipfn + n]) {
            if (f >= 0) {
                out.add(f);
            }
        }
    }
    return [...out];
}

function checkTranslations(s: Scenario, t: IoPageTable, m: ModelState): void {
    for (const f of probes(s, m)) {
        for (const access of ['read', 'write'] as const) {
            const iova = BigInt(f) * 4096n + 0x123n;
            const got = t.walk(iova, access);
            const want = expectWalk(s.model, m, f, access);
            const same = want.ok
                ? got.ok && got.pa === want.papfn * 4096 + 0x123 && got.pageSize === 1n << BigInt(want.sizeLg2 + 12)
                : !got.ok && got.fault === want.fault;
            if (!same) {
                // Only build the (slow) assertion when there is something to report.
                expect(got, `${access} at frame 0x${f.toString(16)}`).toMatchObject(
                    want.ok ? { ok: true, pa: want.papfn * 4096 + 0x123, pageSize: 1n << BigInt(want.sizeLg2 + 12) } : { ok: false, fault: want.fault },
                );
            }
        }
    }
    expect(t.mappedBytes).toBe(BigInt(m.mappedPages) * 4096n);
    const leaves = [...t.leaves(0n, (1n << 64n) - 1n)].map((l) => [l.iova, l.size, l.pa]);
    expect(leaves).toEqual(m.leaves.map((l) => [BigInt(l.ipfn) * 4096n, 1n << BigInt(l.sizeLg2 + 12), l.papfn * 4096]));
}

describe.each(SCENARIOS)('$name', (s) => {
    it('translates as the reference model after random maps and unmaps, and keeps old versions intact', () => {
        fc.assert(
            fc.property(ops, (script) => {
                let t = table(s.format, s.ias);
                let m = emptyModel(s.model);
                const history: [IoPageTable, ModelState][] = [[t, m]];
                const mapped: [number, number][] = [];
                const doMap = (ipfn: number, total: number, runs: [number, number][], read: boolean, write: boolean): void => {
                    const want = modelMap(s.model, m, ipfn, runs, read, write);
                    if (want.ok) {
                        t = t.map(BigInt(ipfn) * 4096n, BigInt(total) * 4096n, runsSource(runs), { read, write });
                        m = want.model;
                        mapped.push([ipfn, total]);
                        return;
                    }
                    let err: unknown;
                    try {
                        t.map(BigInt(ipfn) * 4096n, BigInt(total) * 4096n, runsSource(runs), { read, write });
                    } catch (e) {
                        err = e;
                    }
                    expect(err).toBeInstanceOf(MapError);
                    expect((err as MapError).errno).toBe(want.errno);
                };
                for (const op of script) {
                    if (op.kind === 'mapOver') {
                        if (m.leaves.length === 0) {
                            continue;
                        }
                        const l = m.leaves[op.pick % m.leaves.length];
                        const g = 2 ** op.g;
                        doMap(l.ipfn - (l.ipfn % g), g, [[op.seed * G, g]], true, true);
                    } else if (op.kind === 'map') {
                        const g = 2 ** op.g;
                        const ipfn = s.regions[op.region % s.regions.length] + Math.floor(op.off / g) * g;
                        const total = op.count * g + op.extra;
                        const cutsSum = op.runs.reduce((a, r) => a + r.cut, 0);
                        const runs: [number, number][] = [];
                        let left = total;
                        op.runs.forEach((r, i) => {
                            // Big maps keep runs and PAs 2M aligned, so they cannot explode into 4K leaves.
                            const big = total > 4096;
                            const share = Math.floor((total * r.cut) / cutsSum);
                            const n = i === op.runs.length - 1 ? left : Math.min(left, big ? share - (share % 512) : share);
                            if (n > 0) {
                                const shift = big ? (r.shift >= 512 ? 512 : 0) : r.shift;
                                runs.push([r.seed * G + shift, n]);
                                left -= n;
                            }
                        });
                        doMap(ipfn, total, runs, (op.prot & 1) !== 0, (op.prot & 2) !== 0);
                    } else {
                        let ipfn: number;
                        let n: number;
                        if (op.kind === 'unmapPrev') {
                            if (mapped.length === 0) {
                                continue;
                            }
                            [ipfn, n] = mapped[op.pick % mapped.length];
                        } else if (op.kind === 'unmapLeaf') {
                            if (m.leaves.length === 0) {
                                continue;
                            }
                            const l = m.leaves[op.pick % m.leaves.length];
                            const size = 2 ** l.sizeLg2;
                            ipfn = l.ipfn + (op.inside && size > 1 ? 1 : 0);
                            n = op.len === -1 ? 1 : op.len === 0 ? Math.max(1, size - 1) : op.len * size;
                        } else {
                            const g = 2 ** op.g;
                            ipfn = s.regions[op.region % s.regions.length] + Math.floor(op.off / g) * g;
                            n = op.count * g + op.extra;
                        }
                        const want = modelUnmap(s.model, m, ipfn, n);
                        const got = t.unmap(BigInt(ipfn) * 4096n, BigInt(n) * 4096n);
                        expect(got.unmapped, `unmap of 0x${n.toString(16)} frames at 0x${ipfn.toString(16)}`).toBe(BigInt(want.frames) * 4096n);
                        t = got.table;
                        m = want.model;
                    }
                    checkTranslations(s, t, m);
                    history.push([t, m]);
                }
                for (const [old, oldModel] of history) {
                    checkTranslations(s, old, oldModel);
                }
            }),
            { numRuns: 40 },
        );
    });
});
