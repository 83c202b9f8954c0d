import { type CallOptions, Metadata, type ServiceError } from "@grpc/grpc-js";

type Callback<Res> = (err: ServiceError | null, res: Res) => void;
// ts-proto clients overload each method; inference sees the last overload:
// (request, metadata, options, callback).
export type ReqOf<F> = F extends (req: infer Req, md: never, opts: never, cb: never) => unknown
  ? Req
  : never;
export type ResOf<F> = F extends (
  req: never,
  md: never,
  opts: never,
  cb: Callback<infer Res>,
) => unknown
  ? Res
  : never;

/** A unary call of a generated client as a promise, with a deadline. */
export function unary<C extends object, M extends keyof C>(
  client: C,
  method: M,
  request: ReqOf<C[M]>,
  deadlineMs: number,
): Promise<ResOf<C[M]>> {
  return new Promise((resolve, reject) => {
    const fn = client[method] as unknown as (
      req: unknown,
      md: Metadata,
      opts: Partial<CallOptions>,
      cb: Callback<unknown>,
    ) => unknown;
    fn.call(client, request, new Metadata(), { deadline: Date.now() + deadlineMs }, (err, res) =>
      err ? reject(err) : resolve(res as ResOf<C[M]>),
    );
  });
}

/** Whether a thrown value is a gRPC call's failure (it carries a status code and metadata). */
export function isServiceError(err: unknown): err is ServiceError {
  return (
    err instanceof Error &&
    typeof (err as Partial<ServiceError>).code === "number" &&
    (err as Partial<ServiceError>).metadata instanceof Metadata
  );
}
