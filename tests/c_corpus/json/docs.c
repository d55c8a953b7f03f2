/* The documents the program reads (written for this test). */
const char *const json_docs[] = {
    "{\"name\": \"irld\", \"version\": [0, 15, 2], \"tags\": [\"linker\", \"wasm\", \"ir\"],\n"
    " \"license\": null, \"stable\": false, \"ratio\": 0.98,\n"
    " \"targets\": {\"wasmtime\": {\"ok\": true, \"ms\": 12.5}, \"node\": {\"ok\": true, \"ms\": 30}}}",

    "[{\"id\": 3, \"text\": \"tab\\there, quote \\\" and backslash \\\\\"},\n"
    " {\"id\": 1, \"text\": \"unicode \\u00e9\\u4e2d and control \\u0001\"},\n"
    " {\"id\": 2, \"text\": \"\", \"empty\": {}, \"none\": []}]",

    "{\"matrix\": [[1, 2, 3], [4, 5, 6], [7, 8, 9]],\n"
    " \"numbers\": [1e3, -0.5, 3.14159265358979, 1e-7, 123456789012, 0.1, 2.5e+20],\n"
    " \"deep\": {\"a\": {\"b\": {\"c\": {\"d\": [true, false, null]}}}}}",

    "{\"broken\": [1, 2,\n  3 4]}",

    "{\"unterminated\": \"oops\n\"}",

    "[1, 2] trailing",
};

const int json_doc_count = sizeof json_docs / sizeof json_docs[0];
