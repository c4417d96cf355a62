// The core clears timers that may not be set (`clearTimeout(undefined)`, valid in every runtime);
// workers-types only declares `number | null`.
declare function clearTimeout(timeoutId?: number | null): void;
declare function clearInterval(timeoutId?: number | null): void;
