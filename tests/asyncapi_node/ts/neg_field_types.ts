// Literals, tuples and required fields, as the schemas say: each line must not compile.
import type { ChatReceive, ChatSend } from "./protocol";

export const reason: ChatSend = { type: "gone", reason: "bored", code: 4000 }; // error: TS2322
export const tuple: ChatReceive = { type: "say", text: "hi", at: [1, 2, 3] }; // error: TS2322
export const missing: ChatReceive = { type: "join" }; // error: TS2322
