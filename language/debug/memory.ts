/**
 * IOVA spaces as a debugger reads them: what a device would see at an address (translated by the
 * engine's DMA path), what a domain's page table maps, what a process's virtual memory or physical
 * memory holds. Bytes come from the kernel's physical memory store, page by page; unmapped pages
 * are unreadable. Knows nothing of the Debug Adapter Protocol.
 *
 * Memory references name a space and an optional base: `dev:nic0`, `domain:3`, `proc:qemu@0x7f...`,
 * `phys`.
 */

import { KernelError } from '../../engine/errno.js';
import type { DmaResult } from '../../engine/iommu/dma.js';
import { deviceDma } from '../../engine/iommu/dma.js';
import { updateKernel } from '../../engine/kernel.js';
import { vaToPa } from '../../engine/mm/memory.js';
import type { KernelState } from '../../engine/state.js';
import { hex } from '../../engine/u64.js';

/** An address space a memory reference names. */
export type MemorySpace =
    | { readonly kind: 'dev'; readonly device: string }
    | { readonly kind: 'domain'; readonly domain: number }
    | { readonly kind: 'proc'; readonly process: string }
    | { readonly kind: 'phys' };

/** A parsed memory reference: a space and the address its offset 0 stands for. */
export interface MemoryReference {
    readonly space: MemorySpace;
    /** Address that offset 0 of the reference stands for. */
    readonly base: bigint;
}

/** Parses `dev:nic0`, `domain:3@0x1000`, `proc:qemu@0x7f0000000000`, `phys`. */
export function parseMemoryReference(text: string): MemoryReference | undefined {
    const m = /^(dev|domain|proc|phys)(?::([^@\s]+))?(?:@(0x[0-9a-fA-F]+|\d+))?$/.exec(text.trim());
    if (!m) {
        return undefined;
    }
    const base = m[3] === undefined ? 0n : BigInt(m[3]);
    switch (m[1]) {
        case 'dev':
            return m[2] ? { space: { kind: 'dev', device: m[2] }, base } : undefined;
        case 'domain':
            return m[2] && /^\d+$/.test(m[2]) ? { space: { kind: 'domain', domain: Number(m[2]) }, base } : undefined;
        case 'proc':
            return m[2] ? { space: { kind: 'proc', process: m[2] }, base } : undefined;
        default:
            return m[2] === undefined ? { space: { kind: 'phys' }, base } : undefined;
    }
}

/** Formats a reference (the inverse of {@link parseMemoryReference}). */
export function formatMemoryReference(ref: MemoryReference): string {
    const s = ref.space;
    const name = s.kind === 'dev' ? `dev:${s.device}` : s.kind === 'domain' ? `domain:${s.domain}` : s.kind === 'proc' ? `proc:${s.process}` : 'phys';
    return ref.base === 0n ? name : `${name}@${hex(ref.base)}`;
}

/** Where one address of a space lands in physical memory, or why it does not. */
export type Translation =
    | { readonly ok: true; readonly pa: bigint; readonly pageSize: bigint; readonly domain?: number }
    | { readonly ok: false; readonly reason: string };

/**
 * Translates a device's access to `iova` (optionally tagged with a PASID) as the engine's DMA path
 * does. Runs on a throw-away draft: the hardware's accessed/dirty bits it would set are discarded,
 * so looking changes nothing.
 */
export function translateDevice(k: KernelState, device: string, iova: bigint, options: { pasid?: bigint; dir?: 'read' | 'write'; length?: bigint } = {}): Translation {
    const results = deviceDmaProbe(k, device, [{ iova, length: options.length ?? 1n }], options.dir ?? 'read', options.pasid);
    return results[0]!;
}

/** Translations of several ranges in one draft (reading memory page by page). */
function deviceDmaProbe(k: KernelState, device: string, ranges: ReadonlyArray<{ iova: bigint; length: bigint }>, dir: 'read' | 'write', pasid?: bigint): Translation[] {
    const out: Translation[] = [];
    try {
        updateKernel(k, (draft) => {
            for (const r of ranges) {
                out.push(fromDma(deviceDmaOrError(draft, device, dir, r.iova, r.length, pasid)));
            }
        });
    } catch (e) {
        if (!(e instanceof KernelError)) {
            throw e;
        }
    }
    while (out.length < ranges.length) {
        out.push({ ok: false, reason: `no device ${device}` });
    }
    return out;
}

function deviceDmaOrError(k: KernelState, device: string, dir: 'read' | 'write', iova: bigint, length: bigint, pasid?: bigint): DmaResult | string {
    try {
        return deviceDma(k, device, dir, iova, length, pasid);
    } catch (e) {
        if (e instanceof KernelError) {
            return `${e.errno}: ${e.reason}`;
        }
        throw e;
    }
}

function fromDma(r: DmaResult | string): Translation {
    if (typeof r === 'string') {
        return { ok: false, reason: r };
    }
    const first = r.segments[0];
    if (r.fault || !first) {
        return { ok: false, reason: r.fault?.message ?? 'nothing translated' };
    }
    return { ok: true, pa: first.pa, pageSize: first.pageSize, domain: first.domain };
}

/** Where `address` of a space lands, page by page. */
function translateInSpace(k: KernelState, space: MemorySpace, address: bigint): Translation {
    switch (space.kind) {
        case 'phys':
            return { ok: true, pa: address, pageSize: PAGE };
        case 'proc': {
            const proc = k.processes.get(space.process);
            if (!proc) {
                return { ok: false, reason: `no process ${space.process}` };
            }
            const r = vaToPa(proc.mm, address);
            return r ? { ok: true, pa: BigInt(r.pa), pageSize: r.vma.folioSize } : { ok: false, reason: `${hex(address)} is not mapped in ${space.process}` };
        }
        case 'domain': {
            const d = k.domains.get(space.domain);
            if (!d) {
                return { ok: false, reason: `no domain ${space.domain}` };
            }
            if (d.type === 'identity') {
                return { ok: true, pa: address, pageSize: PAGE, domain: d.id };
            }
            if (d.type === 'sva' && d.svaProcess) {
                return translateInSpace(k, { kind: 'proc', process: d.svaProcess }, address);
            }
            if (!d.pgtable || address < d.aperture.start || address > d.aperture.end) {
                return { ok: false, reason: `${hex(address)} is outside domain ${d.id}'s page table` };
            }
            const w = d.pgtable.walk(address, 'read');
            return w.ok ? { ok: true, pa: BigInt(w.pa), pageSize: w.pageSize, domain: d.id } : { ok: false, reason: `${hex(address)}: ${w.fault}` };
        }
        case 'dev':
            return translateDevice(k, space.device, address);
    }
}

const PAGE = 0x1000n;

/** At most this many bytes per read: a viewer pages through bigger ranges. */
export const MAX_READ = 1 << 20;

/** What a read returns: bytes from `address`, then how many bytes after them are unreadable. */
export interface MemoryRead {
    readonly address: bigint;
    readonly data: Uint8Array;
    readonly unreadable: number;
}

/**
 * Reads `count` bytes at `offset` from a reference: the readable bytes from the start, then the
 * number of unreadable bytes that follow them (a read that starts unreadable returns no data and
 * the length of the unreadable run), as the Debug Adapter Protocol's `readMemory` wants them.
 */
export function readMemory(k: KernelState, ref: MemoryReference, offset: bigint, count: number): MemoryRead {
    const address = ref.base + offset;
    const total = Math.max(0, Math.min(count, MAX_READ));
    const pages: Array<{ iova: bigint; length: bigint }> = [];
    for (let cursor = address; cursor < address + BigInt(total);) {
        const next = (cursor / PAGE + 1n) * PAGE;
        const end = next < address + BigInt(total) ? next : address + BigInt(total);
        pages.push({ iova: cursor, length: end - cursor });
        cursor = end;
    }
    const translations = ref.space.kind === 'dev'
        ? deviceDmaProbe(k, ref.space.device, pages, 'read')
        : pages.map((p) => translateInSpace(k, ref.space, p.iova));
    const chunks: Uint8Array[] = [];
    let readable = 0;
    let unreadable = 0;
    for (let i = 0; i < pages.length; i++) {
        const t = translations[i]!;
        const len = Number(pages[i]!.length);
        if (t.ok && unreadable === 0) {
            chunks.push(k.physMemory.read(t.pa, len));
            readable += len;
        } else if (!t.ok) {
            unreadable += len;
        } else {
            break;
        }
    }
    const data = new Uint8Array(readable);
    let at = 0;
    for (const c of chunks) {
        data.set(c, at);
        at += c.length;
    }
    return { address, data, unreadable };
}
