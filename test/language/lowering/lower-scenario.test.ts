/**
 * Scenarios lower to the engine's ScenarioProgram: steps in source order with their process,
 * location, frames, iteration, slots and expectations; procedures inlined; loops unrolled.
 */

import { describe, expect, test } from 'vitest';
import { expectError } from 'langium/test';
import type { ArgValue, Expr, Step } from '../../../engine/step.js';
import { isForStatement, isRepeatStatement, type Scenario } from '../../../language/generated/ast.js';
import { lowerDocument } from '../../../language/lowering/lower-document.js';
import { lowerScenario, type ScenarioLoweringResult } from '../../../language/lowering/lower-scenario.js';
import { evaluateConstant } from '../../../language/lowering/static-value.js';
import { describeDiagnostics, fixture, iommu, lineOf, nodesOf, parseValid, validate, WORKSTATION } from '../helpers.js';

/** Lowers the first scenario of `text`, which must validate without errors. */
async function lowerClean(text: string): Promise<{ result: ScenarioLoweringResult; steps: readonly Step[]; scenario: Scenario }> {
    const document = await parseValid(text);
    expect(describeDiagnostics(document).filter(d => !d.includes('warning'))).toEqual([]);
    const scenario = document.parseResult.value.scenarios[0]!;
    const result = lowerScenario(scenario);
    expect(result.program).toBeDefined();
    return { result, steps: result.program!.steps, scenario };
}

/** Lowers the first scenario of `text` as it is, errors or not. */
async function lowerAnyway(text: string): Promise<ScenarioLoweringResult & { scenario: Scenario }> {
    const document = await parseValid(text);
    const scenario = document.parseResult.value.scenarios[0]!;
    return { ...lowerScenario(scenario), scenario };
}

function onWorkstation(processes: string): string {
    return `${WORKSTATION}\nscenario s on workstation {\n${processes}\n}\n`;
}

const int = (value: bigint): Expr => ({ kind: 'int', value });
const slot = (name: string): Expr => expect.objectContaining({ kind: 'var', name }) as Expr;
const exprArg = (expr: Expr): ArgValue => expect.objectContaining({ kind: 'expr', expr }) as ArgValue;

function argValue(arg: ArgValue | undefined): bigint | undefined {
    return arg?.kind === 'expr' ? evaluateConstant(arg.expr) : undefined;
}

describe("the contract's assign_nic", () => {
    const text = fixture('contract/assign-nic.iommu');

    test('steps: ops, processes and statement lines', async () => {
        const { result, steps } = await lowerClean(text);
        expect(result.diagnostics).toEqual([]);
        expect(result.program!.name).toBe('assign_nic');
        expect(result.program!.machine.name).toBe('workstation');
        expect(result.program!.processes.map(p => p.name)).toEqual(['qemu', 'intruder']);
        expect(steps.map(s => [s.process, s.op === 'ioctl' ? s.ioctl : s.op])).toEqual([
            ['qemu', 'unbind'], ['qemu', 'unbind'], ['qemu', 'bind'], ['qemu', 'bind'],
            ['qemu', 'open'], ['qemu', 'open'],
            ['qemu', 'VFIO_GROUP_GET_STATUS'], ['qemu', 'VFIO_GROUP_SET_CONTAINER'], ['qemu', 'VFIO_SET_IOMMU'],
            ['qemu', 'mmap'], ['qemu', 'VFIO_IOMMU_MAP_DMA'], ['qemu', 'VFIO_GROUP_GET_DEVICE_FD'],
            ['qemu', 'dma'], ['qemu', 'dma'],
            ['intruder', 'open'],
        ]);
        const statements = [
            'unbind nic0', 'unbind nic1', 'bind nic0 vfio-pci', 'bind nic1 vfio-pci', 'let container = open',
            'let group = open vfio-group(nic0)', 'VFIO_GROUP_GET_STATUS(group)', 'VFIO_GROUP_SET_CONTAINER(group, container)',
            'VFIO_SET_IOMMU(container', 'let ram = mmap 1G', 'VFIO_IOMMU_MAP_DMA(container', 'let dev = VFIO_GROUP_GET_DEVICE_FD',
            'dma nic0 write 0x1000', 'dma nic0 read 0x4000_0000', 'open vfio-group(nic0) expect EBUSY',
        ];
        expect(steps.map(s => s.loc?.start.line)).toEqual(statements.map(s => lineOf(text, s, 'scenario assign_nic')));
        expect(steps[0]!.loc).toMatchObject({ uri: expect.stringMatching(/^file:\/\//), start: { character: 8 }, end: { character: 19 } });
        expect(steps.every(s => s.frames === undefined && s.iteration === undefined)).toBe(true);
    });

    test('operands: paths, devices, bindings, constants and sizes', async () => {
        const { steps } = await lowerClean(text);
        expect(steps[0]).toMatchObject({ op: 'unbind', device: 'nic0' });
        expect(steps[2]).toMatchObject({ op: 'bind', device: 'nic0', driver: 'vfio-pci' });
        expect(steps[4]).toMatchObject({ op: 'open', path: { kind: 'literal', path: '/dev/vfio/vfio' }, bind: 'container' });
        expect(steps[5]).toMatchObject({ op: 'open', path: { kind: 'vfio-group', device: 'nic0' }, bind: 'group' });
        expect(steps[6]).toMatchObject({
            op: 'ioctl', fd: slot('group'),
            expect: { outcome: { kind: 'ok' }, fields: [{ field: 'flags', op: 'eq', value: int(1n) }] },
        });
        expect(steps[7]).toMatchObject({ op: 'ioctl', fd: slot('group'), positional: exprArg(slot('container')), fields: {} });
        expect(steps[8]).toMatchObject({ op: 'ioctl', positional: exprArg(int(3n)) });
        expect(steps[9]).toMatchObject({ op: 'mmap', size: int(1073741824n), bind: 'ram' });

        const map = steps[10]!;
        expect(map.op === 'ioctl' && map.fields).toEqual({
            vaddr: exprArg(slot('ram')),
            iova: exprArg(int(0n)),
            size: exprArg(int(1073741824n)),
            flags: exprArg({ kind: 'binary', op: '|', left: int(1n), right: int(2n) }),
        });
        expect(map.op === 'ioctl' && argValue(map.fields['flags'])).toBe(3n);
        expect(map.expect).toBeUndefined();

        expect(steps[11]).toMatchObject({ op: 'ioctl', positional: { kind: 'device', device: 'nic0' }, bind: 'dev' });
        expect(steps[12]).toMatchObject({ op: 'dma', device: 'nic0', dir: 'write', iova: int(0x1000n), length: int(64n) });
        expect(steps[12]!.expect).toBeUndefined();
        expect(steps[13]).toMatchObject({
            op: 'dma', dir: 'read', iova: int(1073741824n), length: int(8n), expect: { outcome: { kind: 'fault' }, fields: [] },
        });
        expect(steps[14]).toMatchObject({
            op: 'open', process: 'intruder', path: { kind: 'vfio-group', device: 'nic0' }, expect: { outcome: { kind: 'errno', errno: 'EBUSY' } },
        });
    });
});

describe("the contract's iommufd_basics", () => {
    test('constants of iommufd fields and cdev paths', async () => {
        const { steps } = await lowerClean(fixture('contract/iommufd-basics.iommu'));
        expect(steps.find(s => s.op === 'open' && s.path.kind === 'vfio-device')).toMatchObject({ path: { kind: 'vfio-device', device: 'nvme0' }, bind: 'vdev' });
        const map = steps.find(s => s.op === 'ioctl' && s.ioctl === 'IOMMU_IOAS_MAP')!;
        expect(map.op === 'ioctl' && argValue(map.fields['flags'])).toBe(7n);
        expect(map.op === 'ioctl' && map.fields['iova']).toEqual(exprArg(int(0x10_0000n)));
        expect(map.op === 'ioctl' && map.fields['length']).toEqual(exprArg(int(2n << 20n)));
        expect(steps.find(s => s.op === 'ioctl' && s.ioctl === 'IOMMU_DESTROY')).toMatchObject({
            fields: { id: exprArg(slot('ioas')) }, expect: { outcome: { kind: 'errno', errno: 'EBUSY' } },
        });
        expect(steps.find(s => s.op === 'ioctl' && s.ioctl === 'VFIO_DEVICE_BIND_IOMMUFD')).toMatchObject({ bind: 'devid' });
    });
});

describe('procedures', () => {
    const text = onWorkstation(`
    procedure assign(dev) {
        unbind dev
        bind dev vfio-pci
        let g = open vfio-group(dev)
    }
    procedure outer(dev) {
        call assign(dev)
    }
    procedure map(c, va, at, len) {
        VFIO_IOMMU_MAP_DMA(c, vaddr: va, iova: at, size: len, flags: READ)
    }
    procedure getfd(g, name) {
        let d = VFIO_GROUP_GET_DEVICE_FD(g, name)
    }
    process p {
        call assign(nic0)
        call outer(nic1)
        let c = open "/dev/vfio/vfio"
        let ram = mmap 1G
        call map(c, ram + 4K, 2M, 4K * 2)
        call getfd(c, "0000:02:00.0")
        call getfd(c, nic0)
    }`);

    test('are inlined at each call, with a frame per call', async () => {
        const { steps } = await lowerClean(text);
        const callLine = (call: string) => lineOf(text, call, 'process p');
        expect(steps.slice(0, 6).map(s => [s.op, 'device' in s ? s.device : undefined])).toEqual([
            ['unbind', 'nic0'], ['bind', 'nic0'], ['open', undefined], ['unbind', 'nic1'], ['bind', 'nic1'], ['open', undefined],
        ]);
        expect(steps[2]).toMatchObject({ path: { kind: 'vfio-group', device: 'nic0' }, bind: 'g' });
        expect(steps[0]!.frames).toEqual([{ procedure: 'assign', callLoc: expect.objectContaining({ start: { line: callLine('call assign(nic0)'), character: 8 } }) }]);
        expect(steps[3]!.frames!.map(f => [f.procedure, f.callLoc?.start.line])).toEqual([
            ['outer', callLine('call outer(nic1)')],
            ['assign', lineOf(text, 'call assign(dev)')],
        ]);
        expect(steps[0]!.loc?.start.line).toBe(lineOf(text, 'unbind dev'));
        expect(steps[6]!.frames).toBeUndefined();
    });

    test('substitute their parameters: numbers, bindings, expressions, strings and devices', async () => {
        const { steps } = await lowerClean(text);
        const map = steps.find(s => s.op === 'ioctl' && s.ioctl === 'VFIO_IOMMU_MAP_DMA')!;
        expect(map).toMatchObject({ fd: slot('c'), frames: [{ procedure: 'map' }] });
        expect(map.op === 'ioctl' && map.fields).toEqual({
            vaddr: exprArg({ kind: 'binary', op: '+', left: slot('ram'), right: int(4096n) }),
            iova: exprArg(int(2n << 20n)),
            size: exprArg({ kind: 'binary', op: '*', left: int(4096n), right: int(2n) }),
            flags: exprArg(int(1n)),
        });
        const [byString, byDevice] = steps.filter(s => s.op === 'ioctl' && s.ioctl === 'VFIO_GROUP_GET_DEVICE_FD');
        expect(byString).toMatchObject({ positional: { kind: 'string', value: '0000:02:00.0' }, bind: 'd' });
        expect(byDevice).toMatchObject({ positional: { kind: 'device', device: 'nic0' }, bind: 'd' });
    });

    test('a let in a procedure has one slot per process, reused by each call', async () => {
        const { steps } = await lowerClean(text);
        expect(steps.filter(s => s.op === 'open' && s.path.kind === 'vfio-group').map(s => s.bind)).toEqual(['g', 'g']);
    });

    test('cannot recurse', async () => {
        const result = await validate(onWorkstation(`
    procedure a() { call b() }
    procedure b() { unbind nic0 call a() }
    process p { call a() }`));
        const calls = result.document.parseResult.value.scenarios[0]!.procedures[1]!.body;
        expectError(result, "procedure 'a' calls itself (through a → b → a); procedures are inlined, so they cannot recurse",
            { node: calls[1]!, property: 'procedure', data: { code: 'recursive-call' } });
    });
});

describe('loops', () => {
    test('for: both bounds inclusive, one step per iteration, with the iteration values and the body lines', async () => {
        const text = onWorkstation(`
    process p {
        for i in 1 .. 3 {
            dma nic0 write i * 4K len 4K
        }
    }`);
        const { steps } = await lowerClean(text);
        expect(steps.map(s => s.iteration)).toEqual([{ i: 1n }, { i: 2n }, { i: 3n }]);
        expect(steps.map(s => s.op === 'dma' && evaluateConstant(s.iova))).toEqual([4096n, 8192n, 12288n]);
        expect(new Set(steps.map(s => s.loc?.start.line))).toEqual(new Set([lineOf(text, 'dma nic0 write i')]));
    });

    test('nested loops, bounds from outer variables, repeat, and empty ranges', async () => {
        const { steps } = await lowerClean(onWorkstation(`
    process p {
        for i in 0 .. 1 {
            for j in i .. 1 { dma nic0 read i * 16 + j len 1 expect fault }
        }
        repeat 2 { unbind nic0 }
        for k in 5 .. 4 { unbind nic1 }
        repeat 0 { unbind nic1 }
    }`));
        expect(steps.filter(s => s.op === 'dma').map(s => s.iteration)).toEqual([{ i: 0n, j: 0n }, { i: 0n, j: 1n }, { i: 1n, j: 1n }]);
        expect(steps.filter(s => s.op === 'unbind').map(s => 'device' in s && s.device)).toEqual(['nic0', 'nic0']);
        expect(steps.filter(s => s.op === 'unbind').every(s => s.iteration === undefined)).toBe(true);
    });

    test('loop variables and constant parameters as arguments and bounds', async () => {
        const { steps } = await lowerClean(onWorkstation(`
    procedure touch(at, n) { repeat n { dma nic0 read at len 4 expect fault } }
    process p {
        for i in 1 .. 2 { call touch(i * 4K, i) }
    }`));
        expect(steps.map(s => [s.op === 'dma' && evaluateConstant(s.iova), s.iteration?.['i']])).toEqual([
            [4096n, 1n], [8192n, 2n], [8192n, 2n],
        ]);
        expect(steps[0]!.frames?.[0]?.procedure).toBe('touch');
    });

    test('bounds must be constant', async () => {
        const result = await validate(onWorkstation(`
    process p {
        let ram = mmap 4K
        for i in 0 .. ram { unbind nic0 }
    }`));
        const loop = nodesOf(result.document.parseResult.value, isForStatement)[0]!;
        expectError(result, /^a loop bound must be a constant/, { node: loop, property: 'last', data: { code: 'not-constant' } });
    });

    test('the total number of steps is capped, with a diagnostic on the loop', async () => {
        const { program, diagnostics, scenario } = await lowerAnyway(onWorkstation(`
    process p {
        unbind nic0
        for i in 1 .. 3 { repeat 4 { bind nic0 vfio-pci } }
    }`));
        expect(lowerScenario(scenario, { maxSteps: 13 }).diagnostics).toEqual([]);
        const capped = lowerScenario(scenario, { maxSteps: 10 });
        expect(capped.program!.steps.map(s => s.op)).toEqual(['unbind']);
        expect(capped.diagnostics).toEqual([expect.objectContaining({
            severity: 'error', code: 'loop-too-large', node: nodesOf(scenario, isForStatement)[0],
            message: "this loop unrolls scenario 's' to more than 10 steps; the scenario is lowered up to it",
        })]);
        expect(program!.steps).toHaveLength(13);
        expect(diagnostics).toEqual([]);
    });

    test('loops whose body depends on the loop variable are counted iteration by iteration', async () => {
        const { scenario } = await lowerAnyway(onWorkstation(`
    process p {
        for i in 0 .. 3 { for j in 0 .. i { unbind nic0 } }
    }`));
        expect(lowerScenario(scenario, { maxSteps: 10 }).program!.steps).toHaveLength(10);
        expect(lowerScenario(scenario, { maxSteps: 9 }).diagnostics).toEqual([expect.objectContaining({ code: 'loop-too-large' })]);
    });

    test('the default cap is a million steps, and a loop beyond it is refused before unrolling', async () => {
        const started = Date.now();
        const result = await validate(onWorkstation(`
    process p {
        for i in 0 .. 2000 { repeat 1000 { unbind nic0 } }
        for i in 0 .. 0xffff_ffff { repeat 1000 { unbind nic0 } }
    }`));
        expectError(result, "this loop unrolls scenario 's' to more than 1,000,000 steps; the scenario is lowered up to it",
            { node: nodesOf(result.document.parseResult.value, isForStatement)[0]!, data: { code: 'loop-too-large' } });
        expect(Date.now() - started).toBeLessThan(2_000);
        const repeat = await lowerAnyway(onWorkstation('    process p { repeat 2000000 { exit } }'));
        expect(repeat.program!.steps).toHaveLength(0);
        expect(repeat.diagnostics[0]).toMatchObject({ code: 'loop-too-large', node: nodesOf(repeat.scenario, isRepeatStatement)[0] });
    });
});

describe('processes and bindings', () => {
    test('re-entered blocks continue their process, in source order', async () => {
        const { result, steps } = await lowerClean(onWorkstation(`
    process a { let x = open "/dev/iommu" }
    process b { exit }
    process a { close(x) }`));
        expect(steps.map(s => [s.process, s.op])).toEqual([['a', 'open'], ['b', 'exit'], ['a', 'close']]);
        expect(steps[2]).toMatchObject({ fd: slot('x') });
        expect(result.program!.processes.map(p => p.name)).toEqual(['a', 'b']);
    });

    test('a name bound twice gets a new slot; uses see the latest', async () => {
        const { steps } = await lowerClean(onWorkstation(`
    process p {
        let x = open "/dev/iommu"
        let x = open "/dev/vfio/vfio"
        close(x)
    }
    process q { let x = open "/dev/iommu" }`));
        expect(steps.map(s => [s.bind ?? null, s.bindDisplay ?? null])).toEqual([['x', null], ['x#2', 'x'], [null, null], ['x', null]]);
        expect(steps[2]).toMatchObject({ op: 'close', fd: slot('x#2') });
    });

    test('fork: the child uses its parent\'s slots; send: the receiver gets a slot of its own', async () => {
        const { result, steps } = await lowerClean(onWorkstation(`
    process parent {
        let g = open vfio-group(nic0)
        fork child
        send g to other as g
    }
    process other { let g = open "/dev/iommu" }
    process child { close(g) let g = open "/dev/iommu" close(g) }
    process other { close(g) }`));
        expect(result.program!.processes.map(p => p.name)).toEqual(['parent', 'other']);
        expect(steps.map(s => [s.process, s.op])).toEqual([
            ['parent', 'open'], ['parent', 'fork'], ['parent', 'send'],
            ['other', 'open'],
            ['child', 'close'], ['child', 'open'], ['child', 'close'],
            ['other', 'close'],
        ]);
        expect(steps[1]).toMatchObject({ op: 'fork', child: 'child' });
        expect(steps[2]).toMatchObject({ op: 'send', fd: slot('g'), to: 'other', as: 'g' });
        expect(steps[3]).toMatchObject({ bind: 'g#2', bindDisplay: 'g' });
        expect(steps[4]).toMatchObject({ fd: slot('g') });
        expect(steps[5]).toMatchObject({ bind: 'g#2' });
        expect(steps[6]).toMatchObject({ fd: slot('g#2') });
        expect(steps[7]).toMatchObject({ fd: slot('g#2') });
    });

    test('credentials, limits and capabilities', async () => {
        const { result } = await lowerClean(onWorkstation(`
    process vmm uid 1000 memlock 64M caps CAP_IPC_LOCK CAP_SYS_RAWIO { exit }
    process nobody caps none { exit }
    process later { caps CAP_SYS_ADMIN exit }
    process root { exit }`));
        expect(result.program!.processes.map(({ loc: _loc, ...p }) => p)).toEqual([
            { name: 'vmm', uid: 1000, memlock: 64n << 20n, caps: ['CAP_IPC_LOCK', 'CAP_SYS_RAWIO'] },
            { name: 'nobody', caps: [] },
            { name: 'later', caps: ['CAP_SYS_ADMIN'] },
            { name: 'root' },
        ]);
    });

    test('caps after the first call, and credentials on a later block, are errors', async () => {
        const result = await validate(onWorkstation(`
    process p { exit }
    process p uid 5 { caps CAP_SYS_ADMIN }`));
        const blocks = result.document.parseResult.value.scenarios[0]!.processes;
        expectError(result, "'uid', 'memlock' and 'caps' belong on the first block of process 'p'",
            { node: blocks[1]!, property: 'name', data: { code: 'process-attributes-on-reentry' } });
        expectError(result, "'caps' must come before the first call of process 'p' (capabilities are set when it starts)",
            { node: blocks[1]!.body[0]!, data: { code: 'caps-after-start' } });
    });
});

describe('values', () => {
    test('integer expressions with size suffixes, precedence and unary operators', async () => {
        const { steps } = await lowerClean(onWorkstation(`
    process p {
        let ram = mmap 1G
        dma nic0 read ram + 0x1000 len (4K * 16) - 1 expect fault
        dma nic0 read -1 len ~0 expect fault
        dma nic0 read 1 + 2 * 3 len 0x10 | 0x20 & 0x30 expect fault
        dma nic0 read 1 << 12 len 2M >> 1 % 3 expect fault
    }`));
        const dmas = steps.filter((s): s is Extract<Step, { op: 'dma' }> => s.op === 'dma');
        expect(dmas[0]!.iova).toEqual({ kind: 'binary', op: '+', left: slot('ram'), right: int(0x1000n) });
        expect(dmas[0]!.length).toEqual({ kind: 'binary', op: '-', left: { kind: 'binary', op: '*', left: int(4096n), right: int(16n) }, right: int(1n) });
        expect(dmas[1]!.iova).toEqual({ kind: 'unary', op: '-', operand: int(1n) });
        expect(dmas[1]!.length).toEqual({ kind: 'unary', op: '~', operand: int(0n) });
        expect(dmas.slice(2).flatMap(d => [evaluateConstant(d.iova), evaluateConstant(d.length)])).toEqual([
            7n, 0x10n | (0x20n & 0x30n), 4096n, (2n << 20n) >> (1n % 3n),
        ]);
    });

    test('mmap of a memfd maps the file, sized by the memfd unless len says', async () => {
        const { steps } = await lowerClean(onWorkstation(`
    process p {
        let f = memfd 2M hugepage 2M
        let whole = mmap f
        let part = mmap f len 4K offset 8K
        send f to q as g
    }
    process q { let theirs = mmap g }`));
        expect(steps[0]).toMatchObject({ op: 'memfd', size: int(2n << 20n), hugepage: int(2n << 20n), bind: 'f' });
        expect(steps[1]).toMatchObject({ op: 'mmap', size: int(2n << 20n), file: slot('f'), bind: 'whole' });
        expect(steps[2]).toMatchObject({ op: 'mmap', size: int(4096n), file: slot('f'), offset: int(8192n) });
        expect(steps[4]).toMatchObject({ op: 'mmap', process: 'q', size: int(2n << 20n), file: slot('g') });
    });

    test('a device where a number is expected is an error', async () => {
        const result = await validate(onWorkstation('    process p { dma nic0 read nic1 len 4 expect fault }'));
        expectError(result, "'nic1' is a device, not a number", { offset: result.document.textDocument.getText().lastIndexOf('nic1'), length: 4, data: { code: 'not-a-number' } });
    });
});

describe('the lowering service and whole documents', () => {
    test('caches each scenario until the workspace changes', async () => {
        const document = await parseValid(fixture('contract/assign-nic.iommu'));
        const scenario = document.parseResult.value.scenarios[0]!;
        const lowering = iommu.lowering.ScenarioLowering;
        expect(lowering.scenario(scenario)).toBe(lowering.scenario(scenario));
        expect(lowering.scenariosOf(document).map(s => s.node)).toEqual([scenario]);
        expect(lowering.scenarioAt(scenario.processes[0]!.body[0]!)).toBe(lowering.scenario(scenario));
    });

    test('lowerDocument lowers every machine and scenario', async () => {
        const document = await parseValid(fixture('examples/04-type1-and-interrupt-remapping.iommu'));
        const lowered = lowerDocument(document);
        expect(lowered.machines.map(m => m.spec.name)).toEqual(['old_server', 'old_server_unsafe']);
        expect(lowered.scenarios.map(s => [s.node.name, s.program?.machine.name])).toEqual([
            ['msi_not_isolated', 'old_server'], ['opted_in', 'old_server_unsafe'],
        ]);
        expect(lowered.machines[1]!.spec.cmdline).toBe('vfio_iommu_type1.allow_unsafe_interrupts=1');
    });
});
