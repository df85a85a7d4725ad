import { describe, expect, test } from 'vitest';
import type { RunScenarioResult } from '../../language/protocol/messages.js';
import { expectOutcomes, runReport, runSummary, scenarioFailures } from '../../client/views/run-report.js';
import { isServerRunDebugLens, scenarioLenses } from '../../client/views/scenario-lenses.js';

const r = (line: number) => ({ start: { line, character: 8 }, end: { line, character: 40 } });

const failing: RunScenarioResult = {
    scenario: 'half_assigned',
    passed: false,
    steps: [
        { range: r(24), process: 'qemu', op: 'open', result: 'ok', matched: true },
        { range: r(26), process: 'qemu', op: 'VFIO_GROUP_SET_CONTAINER', result: 'EPERM', matched: false, message: 'EPERM: group 1 is not viable' },
        { range: r(27), process: 'qemu', op: 'VFIO_SET_IOMMU', result: 'EINVAL', matched: true, expectId: '27:8' },
        { range: r(30), process: 'intruder', op: 'open', result: 'ok', matched: false, message: 'expected EBUSY, got ok', expectId: '30:8' },
    ],
    problems: ['process admin is still blocked in unbind'],
};

describe('run report', () => {
    test('summary', () => {
        expect(runSummary(failing)).toBe('Scenario half_assigned failed: 2 of 4 steps not as expected; process admin is still blocked in unbind.');
        expect(runSummary({ scenario: 's', passed: true, steps: [failing.steps[0]!], problems: [] })).toBe('Scenario s passed: 1 step, all as expected.');
    });

    test('one line per step with the 1-based line, the process, the op and the result', () => {
        expect(runReport(failing, 'a.iommu')).toEqual([
            'FAIL half_assigned (a.iommu)',
            '  ✓ L25   qemu      open → ok',
            '  ✗ L27   qemu      VFIO_GROUP_SET_CONTAINER → EPERM: EPERM: group 1 is not viable',
            '  ✓ L28   qemu      VFIO_SET_IOMMU → EINVAL',
            '  ✗ L31   intruder  open → ok: expected EBUSY, got ok',
            '  ! process admin is still blocked in unbind',
        ]);
    });

    test('expect outcomes by id; the first failure of a repeated statement wins', () => {
        const outcomes = expectOutcomes({ ...failing, steps: [...failing.steps, { ...failing.steps[3]!, matched: true, message: undefined }] });
        expect(outcomes.get('27:8')).toEqual({ passed: true, actual: 'EINVAL', range: r(27) });
        expect(outcomes.get('30:8')).toEqual({ passed: false, actual: 'ok', message: 'expected EBUSY, got ok', range: r(30) });
        expect(outcomes.has('99:0')).toBe(false);
    });

    test('scenario failures: failed steps without expect, and problems', () => {
        expect(scenarioFailures(failing)).toEqual([
            { message: 'EPERM: group 1 is not viable', range: r(26) },
            { message: 'process admin is still blocked in unbind' },
        ]);
    });
});

describe('code lenses', () => {
    test('Run and Debug on the first line of each scenario, with the file and the scenario', () => {
        const lenses = scenarioLenses('file:///a.iommu', {
            scenarios: [{ name: 's1', machine: 'm', range: { start: { line: 3, character: 0 }, end: { line: 9, character: 1 } }, expects: [{ id: '5:8', label: 'x', range: r(5) }] }],
        });
        expect(lenses.map((l) => [l.title, l.command, l.args, l.range.start.line, l.range.end.line])).toEqual([
            ['$(play) Run', 'iommu.runScenario', ['file:///a.iommu', 's1'], 3, 3],
            ['$(debug-alt) Debug', 'iommu.debugScenario', ['file:///a.iommu', 's1'], 3, 3],
        ]);
        expect(lenses[0]!.tooltip).toBe('Run scenario s1 on m and check its 1 expect');
    });

    test('server lenses that duplicate Run/Debug are recognised', () => {
        expect(isServerRunDebugLens('Run', undefined)).toBe(true);
        expect(isServerRunDebugLens('$(play) Run scenario', 'x')).toBe(true);
        expect(isServerRunDebugLens('3 references', 'editor.action.showReferences')).toBe(false);
        expect(isServerRunDebugLens(undefined, 'iommu.debugScenario')).toBe(true);
    });
});
