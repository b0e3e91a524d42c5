// A message the server sends is not one a client may send: must not compile.
import type { ChatReceive } from "./protocol";

export const backwards: ChatReceive = { type: "gone", reason: "empty", code: 4000 }; // error: TS2322
