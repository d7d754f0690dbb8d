/** Types of bundle-service.mjs (plain JavaScript so that image builds run it without tsx). */
export declare const SERVICES: readonly string[];
export declare function bundleService(service: string, outdir?: string): Promise<{ outfile: string; packages: string[] }>;
