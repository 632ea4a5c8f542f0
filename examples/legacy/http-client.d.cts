/** GETs `url` and returns `{ status, body }`, blocking until the whole response is in. */
export declare function sendRequestSync(url: string): { status: number; body: string };
