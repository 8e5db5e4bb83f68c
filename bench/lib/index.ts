export { stats, median, quantileSorted, Stats } from './stats';
export { timeit, TimeitOptions, TimeitResult } from './timeit';
export { printTable, formatTable, formatCell, Row } from './table';
export { writeResults, resultsDir, projectRoot, hostInfo } from './results';
export { withTimeout, sleep, TimeoutError } from './async';
export { cpuWork } from './cpu';
