/**
 * Which engine device an AST device node stands for: the engine keys devices by the user's name
 * (`nic0`, `gpu0.vf1`, an mdev's name) and unnamed PCI functions by their address, as the
 * machine's lowering gives them. A procedure parameter stands for the device the step names.
 */

import { AstUtils, type AstNode } from 'langium';
import { formatBdf, parseBdf } from '../../engine/machine/spec.js';
import type { Device, KernelState } from '../../engine/state.js';
import type { Step } from '../../engine/step.js';
import { isParameter, isPciSegment, isPlatformDevice } from '../generated/ast.js';
import { segmentNumber } from '../lowering/lower-machine.js';
import { isDeviceNode } from '../scoping/machine-devices.js';

/** The engine's name of the device `node` declares or stands for, if it is a device. */
export function engineDeviceName(node: AstNode | undefined, step?: Step): string | undefined {
    if (isParameter(node)) {
        return step && 'device' in step ? step.device : undefined;
    }
    if (!isDeviceNode(node)) {
        return undefined;
    }
    if (node.name !== undefined) {
        return node.name;
    }
    if (isPlatformDevice(node) || !('bdf' in node)) {
        return undefined;
    }
    const segment = AstUtils.getContainerOfType(node, isPciSegment);
    const bdf = parseBdf(node.bdf, segment ? segmentNumber(segment) : undefined);
    return bdf ? formatBdf(bdf) : undefined;
}

/** The device `node` stands for in kernel `k` (by name, then by `dev_name` for unnamed functions). */
export function kernelDevice(k: KernelState, node: AstNode | undefined, step?: Step): Device | undefined {
    const name = engineDeviceName(node, step);
    if (name === undefined) {
        return undefined;
    }
    const byName = k.devices.get(name);
    if (byName) {
        return byName;
    }
    const key = k.devicesByDevName.get(name);
    return key === undefined ? undefined : k.devices.get(key);
}
