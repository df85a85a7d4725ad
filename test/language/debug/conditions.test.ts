/** The breakpoint condition language (language/debug/conditions.ts) over a real kernel state. */
import { beforeAll, describe, expect, test } from 'vitest';
import { runScenario } from '../../../engine/runner.js';
import {
    ConditionError, evaluateConditionText, formatConditionValue, isTruthy, parseCondition, type ConditionContext,
} from '../../../language/debug/conditions.js';
import { loadScenarioProgram } from '../../../language/debug/program-loader.js';
import { bindingValues } from '../../../language/debug/process-view.js';
import { fixture } from './dap-harness.js';

let ctx: ConditionContext;

beforeAll(async () => {
    // kernel-state.iommu after its first DMA write (tick 10): nic0 and nic1 on vfio-pci, 64K mapped at 0x100000.
    const { scenario } = await loadScenarioProgram(fixture('kernel-state.iommu'));
    const run = runScenario(scenario.program);
    const state = run.ticks[10]!.state;
    ctx = { kernel: state.kernel, process: 'qemu', bindings: bindingValues(state.env.get('qemu')), result: { outcome: 'errno', errno: 'EBUSY' } };
});

const value = (text: string) => evaluateConditionText(text, ctx);

describe('parsing', () => {
    test('operators bind as in C; numbers take hex, separators and size suffixes', () => {
        expect(value('1 + 2 * 3')).toBe(7n);
        expect(value('(1 + 2) * 3')).toBe(9n);
        expect(value('4K + 0x1_000 + 2M / 2M')).toBe(8193n);
        expect(value('-1 + 1')).toBe(0n);
        expect(value('!true || false && true')).toBe(false);
        expect(value('1 < 2 && 2 <= 2 && 3 > 2 && 3 >= 3 && 1 != 2')).toBe(true);
    });

    test('syntax errors say what and where', () => {
        const error = (text: string) => {
            try {
                parseCondition(text);
            } catch (e) {
                return [(e as ConditionError).message, (e as ConditionError).offset];
            }
            return undefined;
        };
        expect(error('')).toEqual(['the condition is empty', 0]);
        expect(error('viable(nic0')).toEqual(["expected ')' at the end", 11]);
        expect(error('a ==')).toEqual(['the condition ends too early', 4]);
        expect(error('a $ b')).toEqual(["unexpected '$'", 2]);
        expect(error('1 2')).toEqual(["unexpected '2'", 2]);
    });
});

describe('evaluation over kernel state', () => {
    test('devices: viability, groups, drivers, domains, existence', () => {
        expect(value('viable(nic0)')).toBe(false);
        expect(value('viable(dsa0)')).toBe(false);
        expect(value('group(nic0) == group(nic1) && group(dsa0) == 2')).toBe(true);
        expect(value('driver(nic0)')).toBe('vfio-pci');
        expect(value('driver(nic0) == "vfio-pci" && driver(dsa0) == idxd')).toBe(true);
        expect(value('domain(nic0)')).toBe(5n);
        expect(value('exists(nic0) && !exists(nic7)')).toBe(true);
        // Devices that do not exist (yet) are not viable, in no group, with no driver.
        expect([value('viable(nic7)'), value('group(nic7)'), value('driver(nic7)')]).toEqual([false, null, null]);
    });

    test('the process: bindings, open fds', () => {
        expect(value('open(group) && open(container)')).toBe(true);
        expect(value('open(ram)')).toBe(false);
        expect(value('ram')).toBe(0x7eff_ffe0_0000n);
        expect(value('process == qemu')).toBe(true);
    });

    test('translation: mapped and pa, with expressions', () => {
        expect(value('mapped(nic0, 0x10_1000)')).toBe(true);
        expect(value('mapped(nic1, 0x10_0000 + 64K - 1)')).toBe(true);
        expect(value('mapped(nic0, 0x10_0000 + 64K)')).toBe(false);
        expect(typeof value('pa(nic0, 0x10_1000)')).toBe('bigint');
        expect(value('pa(nic0, 0x20_0000)')).toBe(null);
        expect(value('pa(nic0, 0x10_1000) + 4K == pa(nic0, 0x10_2000)')).toBe(false); // anonymous 4K pages are not contiguous
    });

    test('the result of the statement: errno and result; bare names stand for themselves', () => {
        expect(value('errno == EBUSY')).toBe(true);
        expect(value('result == EBUSY && errno != EINVAL')).toBe(true);
        expect(evaluateConditionText('errno', { ...ctx, result: { outcome: 'ok' } })).toBe(null);
        expect(evaluateConditionText('result == ok', { ...ctx, result: { outcome: 'ok' } })).toBe(true);
    });

    test('type and arity errors', () => {
        expect(() => value('group(nic0) < "x"')).toThrow(`'<' needs two numbers, not 0 and "x"`);
        expect(() => value('viable(nic0, nic1)')).toThrow('viable(dev) takes 1 argument');
        expect(() => value('mapped(nic0)')).toThrow('mapped(dev, iova [, pasid]) takes 2 or 3 arguments');
        expect(() => value('mapped(nic0, nothing)')).toThrow("mapped() needs a number for the IOVA ('nothing' is not a binding of qemu)");
        expect(() => value('frobnicate(1)')).toThrow(/^unknown function frobnicate\(\); there are viable, group, driver/);
        expect(() => value('1 / 0')).toThrow('division by zero');
    });

    test('truthiness and printing', () => {
        expect([isTruthy(null), isTruthy(0n), isTruthy(''), isTruthy(false), isTruthy(1n), isTruthy('x')]).toEqual([false, false, false, false, true, true]);
        expect([formatConditionValue(null), formatConditionValue(12n), formatConditionValue(0x1_0000n), formatConditionValue('a'), formatConditionValue(true)])
            .toEqual(['none', '12', '0x10000', '"a"', 'true']);
    });
});
