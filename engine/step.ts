/**
 * A scenario as the engine runs it: plain-data steps (what each process does, in source order),
 * and the result of each. The language lowers its AST to a {@link ScenarioProgram}; the runner
 * executes it against a kernel. Nothing here knows about Langium or editors.
 */

import type { ErrnoName, KernelSource } from './errno.js';
import type { SourceLocation } from './location.js';
import type { MachineSpec, MdevKind } from './machine/spec.js';

// ---------------------------------------------------------------------------------------------
// Expressions and arguments

/** An integer expression evaluated when the step runs (`ram + 0x1000`, `(4K * 16) - 1`, `-1`). */
export type Expr =
    | { readonly kind: 'int'; readonly value: bigint }
    /** A `let` binding of the step's process, by its lowered slot name. */
    | { readonly kind: 'var'; readonly name: string; readonly loc?: SourceLocation }
    | { readonly kind: 'unary'; readonly op: '-' | '~'; readonly operand: Expr }
    | {
        readonly kind: 'binary';
        readonly op: '+' | '-' | '*' | '/' | '%' | '|' | '&' | '^' | '<<' | '>>';
        readonly left: Expr;
        readonly right: Expr;
    };

/** A value handed to an ioctl field or positional argument. */
export type ArgValue =
    | { readonly kind: 'expr'; readonly expr: Expr; readonly loc?: SourceLocation }
    /** A string the kernel receives (`"0000:01:00.0 vf_token=..."`). */
    | { readonly kind: 'string'; readonly value: string; readonly loc?: SourceLocation }
    /** A device named in the scenario; becomes its `dev_name` (for PCI the BDF) at run time. */
    | { readonly kind: 'device'; readonly device: string; readonly loc?: SourceLocation }
    /** An array of structs, for array fields (`allowed_iovas: [ { start: 0, last: 4G - 1 } ]`). */
    | { readonly kind: 'array'; readonly items: ReadonlyArray<Readonly<Record<string, ArgValue>>>; readonly loc?: SourceLocation };

/** Where a device node path comes from: a literal, or a device's group or cdev node. */
export type PathExpr =
    | { readonly kind: 'literal'; readonly path: string }
    | { readonly kind: 'vfio-group'; readonly device: string }
    | { readonly kind: 'vfio-device'; readonly device: string };

// ---------------------------------------------------------------------------------------------
// Expectations

export interface ExpectField {
    readonly field: string;
    /** `eq`: exact equality; `has`: these bits are set (others may be too). */
    readonly op: 'eq' | 'has';
    readonly value: Expr;
    readonly loc?: SourceLocation;
}

export interface Expectation {
    readonly outcome: { readonly kind: 'ok' } | { readonly kind: 'fault' } | { readonly kind: 'errno'; readonly errno: ErrnoName };
    readonly fields: readonly ExpectField[];
    readonly loc?: SourceLocation;
}

// ---------------------------------------------------------------------------------------------
// Steps

export interface StepFrame {
    /** Procedure name. */
    readonly procedure: string;
    /** The `call` statement that entered it. */
    readonly callLoc?: SourceLocation;
}

export type StepOp =
    | { readonly op: 'open'; readonly path: PathExpr }
    | { readonly op: 'close'; readonly fd: Expr }
    | {
        readonly op: 'ioctl';
        /** Full kernel name, e.g. `VFIO_GROUP_SET_CONTAINER`. */
        readonly ioctl: string;
        readonly fd: Expr;
        /** The single value of ioctls that take one (`VFIO_SET_IOMMU(c, VFIO_TYPE1v2_IOMMU)`). */
        readonly positional?: ArgValue;
        /** Struct fields by their kernel names. */
        readonly fields: Readonly<Record<string, ArgValue>>;
    }
    | { readonly op: 'mmap'; readonly size: Expr; readonly hugepage?: Expr; readonly file?: Expr; readonly offset?: Expr }
    | { readonly op: 'munmap'; readonly addr: Expr; readonly length?: Expr }
    | { readonly op: 'memfd'; readonly size: Expr; readonly hugepage?: Expr }
    | { readonly op: 'bind'; readonly device: string; readonly driver: string }
    | { readonly op: 'unbind'; readonly device: string }
    | { readonly op: 'sriov'; readonly device: string; readonly numvfs: Expr }
    | { readonly op: 'mdev'; readonly name: string; readonly parent: string; readonly kind: MdevKind }
    | { readonly op: 'sva-bind'; readonly device: string }
    | { readonly op: 'sva-unbind'; readonly device: string }
    | {
        readonly op: 'dma';
        readonly device: string;
        readonly dir: 'read' | 'write';
        readonly iova: Expr;
        readonly length: Expr;
        readonly pasid?: Expr;
    }
    /**
     * `guest-map HWPT iova IOVA to GPA len N [read] [write]`: the guest kernel writes its
     * stage-1 table, the one the nested HWPT `hwpt` points at (modelled guest memory, not a
     * system call; engine/iommu/guest-s1.ts).
     */
    | {
        readonly op: 'guest-map';
        readonly hwpt: Expr;
        readonly iova: Expr;
        readonly gpa: Expr;
        readonly length: Expr;
        readonly read: boolean;
        readonly write: boolean;
    }
    /** `guest-unmap HWPT iova IOVA len N`: the guest clears entries of its stage-1 table. */
    | { readonly op: 'guest-unmap'; readonly hwpt: Expr; readonly iova: Expr; readonly length: Expr }
    | { readonly op: 'exit' }
    | { readonly op: 'fork'; readonly child: string }
    | { readonly op: 'send'; readonly fd: Expr; readonly to: string; readonly as: string };

export type StepOpName = StepOp['op'];

export type Step = StepOp & {
    /** The process (a thread in the debugger) that performs it. */
    readonly process: string;
    /** The statement's source location; for loop bodies, the body statement's. */
    readonly loc?: SourceLocation;
    /** Procedure call stack at this step, outermost first. */
    readonly frames?: readonly StepFrame[];
    /** Loop variables and their values in this iteration, for display. */
    readonly iteration?: Readonly<Record<string, bigint>>;
    /** `let NAME = ...`: the slot that receives the step's main out-value. */
    readonly bind?: string;
    /** The name as the user wrote it, when `bind` is a renamed slot. */
    readonly bindDisplay?: string;
    readonly expect?: Expectation;
};

/** Credentials and limits of a process (`process vmm uid 1000 memlock 64M caps ...`). */
export interface ProcessSpec {
    readonly name: string;
    /** Default 0 (root). */
    readonly uid?: number;
    /** RLIMIT_MEMLOCK in bytes; default unlimited for root-like defaults (8 MiB is Linux's default). */
    readonly memlock?: bigint;
    /** Capabilities; undefined means all (a root process). */
    readonly caps?: readonly string[];
    readonly loc?: SourceLocation;
}

export interface ScenarioProgram {
    readonly name: string;
    readonly machine: MachineSpec;
    readonly processes: readonly ProcessSpec[];
    readonly steps: readonly Step[];
    readonly loc?: SourceLocation;
}

// ---------------------------------------------------------------------------------------------
// Results

/** `invalid`: the step cannot run at all (an unknown ioctl or field, a process that exited). */
export type Outcome = 'ok' | 'errno' | 'fault' | 'blocked' | 'not-run' | 'invalid';

/** One piece of a DMA: where a range of IOVA went. */
export interface DmaSegment {
    readonly iova: bigint;
    readonly length: bigint;
    readonly pa: bigint;
    /** Size of the leaf that translated it (4K, 2M, 1G...). */
    readonly pageSize: bigint;
    /** Domain that translated it (absent for pass-through/identity). */
    readonly domain?: number;
    readonly pasid?: number;
    /** Nested translation: the guest-physical address stage 1 gave (stage 2 turned it into `pa`). */
    readonly gpa?: bigint;
    /** Nested translation: the leaf sizes of each stage (`pageSize` is the smaller). */
    readonly stage1PageSize?: bigint;
    readonly stage2PageSize?: bigint;
    /**
     * Nested translation served by an IOTLB entry an earlier walk filled: `hit` when the guest's
     * table still says the same, `stale` when the guest changed it without invalidating.
     */
    readonly iotlb?: 'hit' | 'stale';
}

export type DmaFaultReason =
    | 'not-present'
    | 'write-to-read-only'
    | 'read-from-write-only'
    | 'blocked'
    | 'no-domain'
    | 'beyond-address-width'
    | 'pasid-not-present'
    | 'pasid-beyond-width'
    | 'stage1-not-present'
    | 'stage1-permission'
    | 'stage2-not-present'
    | 'stage2-permission'
    | 'not-pinned'
    | 'msi-window';

export interface DmaFault {
    readonly reason: DmaFaultReason;
    readonly iova: bigint;
    readonly pasid?: number;
    /** Domain the walk used, if any. */
    readonly domain?: number;
    /** Page-table level where the walk stopped, if it got that far. */
    readonly level?: number;
    /** Nested translation, stage-2 faults: the guest-physical address stage 2 could not translate. */
    readonly gpa?: bigint;
    /** In words, naming the device, domain and address. */
    readonly message: string;
}

export interface ExpectationCheck {
    readonly matched: boolean;
    /** Why it did not match, in words ("expected EBUSY, got ok"). */
    readonly message?: string;
}

/** An out-value as shown to users: its number, and how to print it (`VIABLE`, `/dev/vfio/7`). */
export interface OutValue {
    readonly value: bigint;
    readonly display?: string;
}

export interface StepResult {
    /** Index into `ScenarioProgram.steps`. */
    readonly step: number;
    readonly process: string;
    /** The ioctl name, or `open`, `close`, `mmap`, `dma`... */
    readonly op: string;
    readonly outcome: Outcome;
    readonly errno?: ErrnoName;
    /** The system call's return value where it means something (new fd, CHECK_EXTENSION value). */
    readonly ret?: bigint;
    /** Out-values: `fd`, `out_ioas_id`, `flags`, `pa`... */
    readonly values: Readonly<Record<string, OutValue>>;
    /** Why it failed or faulted, in words naming the objects. */
    readonly reason?: string;
    /** The kernel source the rule mirrors. */
    readonly source?: KernelSource;
    readonly dma?: { readonly segments: readonly DmaSegment[]; readonly fault?: DmaFault };
    readonly expectation?: ExpectationCheck;
    /** For a blocked call: what it waits for. */
    readonly waitingFor?: string;
    /** The tick (position in execution order) at which this result was produced. */
    readonly tick: number;
    /** Human-readable kernel state changes the step made ("group 7: owner container 1"). */
    readonly changes?: readonly string[];
}
