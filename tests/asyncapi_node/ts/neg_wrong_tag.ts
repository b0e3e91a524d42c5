// A tag that no message has: must not compile.
import type { ChatReceive } from "./protocol";

export const typo: ChatReceive = { type: "jion", room: "lobby" }; // error: TS2322
