export * from './probe';
export * from './decode';
export * from './encode';
export * from './server';
