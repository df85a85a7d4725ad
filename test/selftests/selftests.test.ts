/**
 * The kernel's iommufd selftests (tools/testing/selftests/iommu/iommufd.c, iommufd_fail_nth.c),
 * ported as .iommu scenarios next to this file (STATUS.md lists every case). Every file must check
 * clean: each call's prediction equals the `expect` the selftest asserts. A few results are also
 * pinned here through `run --json`, so that a silent change in them (an out-value the language
 * cannot put in an `expect`, or a fix that must not regress) is caught.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { runCli } from '../../language/cli/main.js';

const root = join(import.meta.dirname, '..', '..');
const dir = 'test/selftests';

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(argv, { out: (t) => out.push(t), err: (t) => err.push(t), cwd: root }, '9.9.9');
    return { code, out: out.join('\n'), err: err.join('\n') };
}

type JsonValue = number | string;

interface Step {
    readonly line: number;
    readonly process: string;
    readonly op: string;
    readonly result: string;
    readonly values: Readonly<Record<string, JsonValue>>;
    readonly reason?: string;
}

interface ScenarioResult {
    readonly name: string;
    readonly passed: boolean;
    readonly steps: Step[];
}

/** One `run --json` per file (a run simulates the whole file), shared by the tests. */
const runs = new Map<string, Promise<{ code: number; scenarios: ScenarioResult[] }>>();

function runFile(file: string): Promise<{ code: number; scenarios: ScenarioResult[] }> {
    let run = runs.get(file);
    if (!run) {
        run = cli('run', '--json', join(dir, file)).then((r) => ({ code: r.code, scenarios: (JSON.parse(r.out) as { scenarios: ScenarioResult[] }).scenarios }));
        runs.set(file, run);
    }
    return run;
}

/** The steps of one scenario, from `run --json`. */
async function steps(file: string, scenario: string): Promise<Step[]> {
    const sc = (await runFile(file)).scenarios.find((s) => s.name === scenario);
    if (!sc) {
        throw new Error(`no scenario ${scenario} in ${file}`);
    }
    return sc.steps;
}

/** Simulating a file takes seconds (tens for the dirty-tracking sweeps), more on a loaded machine. */
const SLOW = 600_000;

function ofOp(all: readonly Step[], op: string): Step[] {
    return all.filter((s) => s.op === op);
}

const files = readdirSync(join(root, dir)).filter((f) => f.endsWith('.iommu')).sort();

describe('every ported selftest checks clean', () => {
    test('the port covers every fixture family', () => {
        expect(files).toEqual([
            'iommufd-basic.iommu', 'iommufd-change-process.iommu', 'iommufd-device-pasid.iommu',
            'iommufd-dirty-tracking.iommu', 'iommufd-fail-nth.iommu', 'iommufd-hwpt-nested.iommu',
            'iommufd-ioas.iommu', 'iommufd-mock-domain.iommu', 'iommufd-vfio-compat.iommu',
            'iommufd-viommu.iommu', 'versions.iommu',
        ]);
    });

    for (const file of files) {
        test(file, async () => {
            const r = await cli('check', '--json', join(dir, file));
            const json = JSON.parse(r.out) as { diagnostics: Array<{ severity: string; line: number; message: string }> };
            expect(json.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.line}: ${d.message}`)).toEqual([]);
            expect(r.code).toBe(0);
            // A scenario that could not be lowered is not simulated and has no diagnostics: make
            // sure every scenario of the file really ran, and met every expectation.
            const declared = [...readFileSync(join(root, dir, file), 'utf8').matchAll(/^scenario (\w+) on /gm)].map((m) => m[1]);
            const run = await runFile(file);
            expect(run.scenarios.map((sc) => sc.name)).toEqual(declared);
            expect(run.scenarios.filter((sc) => !sc.passed).map((sc) => sc.name)).toEqual([]);
            expect(run.code).toBe(0);
        }, SLOW);
    }
});

describe('key results', () => {
    test('IOAS_IOVA_RANGES: a fresh IOAS is all of 2^64 at byte alignment; a VT-d domain leaves its aperture minus the MSI window', async () => {
        const none = ofOp(await steps('iommufd-ioas.iommu', 'ioas_iova_ranges_no_domain'), 'IOMMU_IOAS_IOVA_RANGES');
        expect(none[0]!.values).toMatchObject({ num_iovas: 1, out_iova_alignment: 1, 'allowed_iovas[0].start': 0, 'allowed_iovas[0].last': '0xffffffffffffffff' });
        const one = ofOp(await steps('iommufd-ioas.iommu', 'ioas_iova_ranges_one_domain'), 'IOMMU_IOAS_IOVA_RANGES');
        expect(one[0]!.values).toMatchObject({
            num_iovas: 2, out_iova_alignment: 4096,
            'allowed_iovas[0].start': 0, 'allowed_iovas[0].last': 0xfedf_ffff,
            'allowed_iovas[1].start': 0xfef0_0000, 'allowed_iovas[1].last': 0x7fff_ffff_ffff,
        });
        // EMSGSIZE still writes the count and the ranges that fit.
        expect(one[2]!.result).toBe('EMSGSIZE');
        expect(one[2]!.values).toMatchObject({ num_iovas: 2, 'allowed_iovas[0].last': 0xfedf_ffff });
        expect(one[2]!.values['allowed_iovas[1].start']).toBeUndefined();
    }, SLOW);

    test('auto IOVA never wraps past 2^64 (__alloc_iova_check_range): ENOSPC, not IOVA 0', async () => {
        const map = ofOp(await steps('iommufd-ioas.iommu', 'ioas_reserved_overflow_no_domain'), 'IOMMU_IOAS_MAP');
        expect(map.map((s) => s.result)).toEqual(['ENOSPC']);
        expect(map[0]!.values.iova).toBeUndefined();
    }, SLOW);

    test('auto IOVAs are the kernel\'s first fit, aligned to the length', async () => {
        const maps = ofOp(await steps('iommufd-ioas.iommu', 'ioas_area_auto_iova_no_domain'), 'IOMMU_IOAS_MAP');
        expect(maps.slice(10, 20).map((s) => s.values.iova)).toEqual([0x1000, 0x2000, 0x4000, 0x8000, 0x10000, 0x18000, 0x20000, 0x28000, 0x30000, 0x40000]);
    }, SLOW);

    test('nested HWPTs with a fault queue: FAULT_ID_VALID is not the driver\'s business (VT-d and SMMUv3)', async () => {
        const vtd = await steps('iommufd-hwpt-nested.iommu', 'ioas_alloc_hwpt_nested_one_domain');
        const attach = ofOp(vtd, 'VFIO_DEVICE_ATTACH_IOMMUFD_PT').map((s) => s.result);
        expect(attach).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ok']);
        const smmu = ofOp(await steps('iommufd-viommu.iommu', 'viommu_alloc_nested_iopf_viommu'), 'IOMMU_HWPT_ALLOC');
        expect(smmu.map((s) => s.result)).toEqual(['ok', 'ok', 'ENOENT', 'EOPNOTSUPP', 'ok']);
    }, SLOW);

    test('dirty bitmaps: a device write dirties its page; a 2 MiB leaf reads dirty whole; NO_CLEAR keeps the bits', async () => {
        const count = async (scenario: string) => ofOp(await steps('iommufd-dirty-tracking.iommu', scenario), 'IOMMU_HWPT_GET_DIRTY_BITMAP').map((s) => s.values.dirty_pages);
        expect(await count('dirty_tracking_get_dirty_bitmap_320k')).toEqual([40, 0]);
        expect(await count('dirty_tracking_get_dirty_bitmap_64M_huge')).toEqual([8192, 0]);
        expect(await count('dirty_tracking_get_dirty_bitmap_no_clear_128k')).toEqual([16, 16]);
    }, SLOW);

    test('VFIO compat: TYPE1 cuts a huge mapping anywhere, TYPE1v2 never does', async () => {
        const unmaps = async (scenario: string) => ofOp(await steps('iommufd-vfio-compat.iommu', scenario), 'VFIO_IOMMU_UNMAP_DMA').map((s) => s.result);
        expect(await unmaps('vfio_compat_huge_map_ver1v0')).toEqual(new Array(16).fill('ok'));
        expect(await unmaps('vfio_compat_huge_map_ver1v2')).toEqual(new Array(16).fill('ENOENT'));
    }, SLOW);

    test('the kernel version selects the uAPI', async () => {
        const k65 = await steps('versions.iommu', 'hwpt_alloc_is_6_6');
        expect(ofOp(k65, 'IOMMU_HWPT_ALLOC')[0]!.reason).toMatch(/does not exist in Linux 6\.5 \(it appeared in 6\.6\)/);
        const k612 = await steps('versions.iommu', 'map_file_is_6_13');
        expect(ofOp(k612, 'IOMMU_IOAS_MAP_FILE')[0]!.result).toBe('ENOTTY');
        expect(ofOp(k612, 'IOMMU_HWPT_ALLOC').map((s) => s.result)).toEqual(['EOPNOTSUPP', 'ok']);
        const k66 = await steps('versions.iommu', 'hwpt_alloc_struct_grew_in_6_7');
        expect(ofOp(k66, 'IOMMU_HWPT_ALLOC').map((s) => s.result)).toEqual(['E2BIG', 'ok', 'EINVAL', 'EOPNOTSUPP']);
    }, SLOW);
});
