/**
 * Stable codes of the diagnostics the language reports (in `Diagnostic.code` and in
 * `data.code`). Code actions, the CLI's `[code]` and tests key on them: add, never rename.
 */
export const IommuCodes = {
    // names that do not resolve
    UnknownDevice: 'unknown-device',
    UnknownVariable: 'unknown-variable',
    UnknownConstant: 'unknown-constant',
    UnknownProcedure: 'unknown-procedure',
    UnknownMachine: 'unknown-machine',
    UnknownIommu: 'unknown-iommu',
    UnknownProcess: 'unknown-process',
    UnknownIoctl: 'unknown-ioctl',
    UnknownField: 'unknown-field',
    UnknownErrno: 'unknown-errno',
    UnknownIommuKind: 'unknown-iommu-kind',
    UnknownFeature: 'unknown-feature',
    UnknownAcsFlag: 'unknown-acs-flag',
    UnknownResetMethod: 'unknown-reset-method',
    UnknownMode: 'unknown-mode',
    // machines
    DuplicateName: 'duplicate-name',
    DuplicateBdf: 'duplicate-bdf',
    InvalidBdf: 'invalid-bdf',
    InvalidNumber: 'invalid-number',
    InvalidKernelVersion: 'invalid-kernel-version',
    DuplicateAttribute: 'duplicate-attribute',
    // scenarios
    UnexpectedArgument: 'unexpected-argument',
    DuplicateField: 'duplicate-field',
    NoValueToBind: 'no-value-to-bind',
    ConstantNotForField: 'constant-not-for-field',
    FaultNotDma: 'fault-not-dma',
    WrongArgumentCount: 'wrong-argument-count',
    ProcessAttributesOnReentry: 'process-attributes-on-reentry',
    CapsAfterStart: 'caps-after-start',
    InvalidCapability: 'invalid-capability',
    // lowering
    LoopTooLarge: 'loop-too-large',
    NotConstant: 'not-constant',
    RecursiveCall: 'recursive-call',
    NotANumber: 'not-a-number',
    NotADevice: 'not-a-device',
    MmapSizeUnknown: 'mmap-size-unknown',
    ForkedProcessExists: 'forked-process-exists',
    // guest-map / guest-unmap
    NotANestedHwpt: 'not-a-nested-hwpt',
    GuestMapPermissions: 'guest-map-permissions',
    GuestMapMisaligned: 'guest-map-misaligned',
} as const;

/** A diagnostic code of the language. */
export type IommuCode = typeof IommuCodes[keyof typeof IommuCodes];
