/** A scenario may run on a machine declared in another file of the workspace. */

import { afterEach, describe, expect, test } from 'vitest';
import { clearDocuments, expectError } from 'langium/test';
import { isScenario, isUnbindStatement } from '../../../language/generated/ast.js';
import { describeDiagnostics, iommu, nodesOf, parseValid, validate, WORKSTATION } from '../helpers.js';

afterEach(async () => {
    await clearDocuments(iommu.shared);
});

describe('machines across files', () => {
    test('a scenario links to a machine of another file, and so do its device names', async () => {
        const machine = await parseValid(WORKSTATION, 'machine');
        const scenario = await parseValid(`scenario elsewhere on workstation {
    process p { unbind nic0 bind nic0 vfio-pci let g = open vfio-group(nic0) }
}`, 'scenario');
        expect(describeDiagnostics(scenario)).toEqual([]);
        const node = nodesOf(scenario.parseResult.value, isScenario)[0]!;
        expect(node.machine.ref).toBe(machine.parseResult.value.machines[0]);
        expect(nodesOf(scenario.parseResult.value, isUnbindStatement)[0]!.device.ref?.$container?.$container?.$type).toBe('PciSegment');
        const lowered = iommu.lowering.ScenarioLowering.scenario(node);
        expect(lowered.program?.machine.name).toBe('workstation');
        expect(lowered.program?.machine.segments[0]!.children.length).toBeGreaterThan(0);
        expect(lowered.program?.steps.map(s => s.op)).toEqual(['unbind', 'bind', 'open']);
    });

    test('a machine of the same file wins over a namesake in another file', async () => {
        await parseValid('machine desktop { pci 0000 { endpoint 01:00.0 far0 { } } }', 'far');
        const near = await parseValid(`machine desktop { pci 0000 { endpoint 01:00.0 near0 { } } }
scenario s on desktop { process p { unbind near0 } }`, 'near');
        expect(describeDiagnostics(near)).toEqual([]);
        const node = nodesOf(near.parseResult.value, isScenario)[0]!;
        expect(node.machine.ref).toBe(near.parseResult.value.machines[0]);
    });

    test('an unknown machine suggests the known ones of the workspace', async () => {
        await parseValid(WORKSTATION, 'machine');
        const result = await validate('scenario s on workstaton { process p { exit } }', 'typo');
        const node = nodesOf(result.document.parseResult.value, isScenario)[0]!;
        expectError(result, "unknown machine 'workstaton'; did you mean 'workstation'?",
            { node, property: 'machine', data: { code: 'unknown-machine' } });
        expect(iommu.lowering.ScenarioLowering.scenario(node).program).toBeUndefined();
    });
});
