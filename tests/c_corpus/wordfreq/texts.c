/* Texts written for this test. */
#include "wordfreq.h"

const struct text texts[] = {
  {"linking",
   "A linker reads the objects a compiler wrote and joins them into one program. "
   "Each object names the symbols it defines and the symbols it needs; the linker "
   "matches every need with a definition, and when a library archive holds the "
   "definition, the linker pulls the member that defines it. The member may need "
   "more symbols in turn, so the linker keeps pulling until nothing is missing. "
   "Then it lays out the code and the data, and it patches every place the compiler "
   "left a relocation: a call to a function whose index was not known, the address "
   "of a string, the slot of a function in the table. A good linker also removes "
   "what nobody uses. It starts from the entry point and the exports, follows every "
   "relocation from a live function to the functions and data it names, and drops "
   "the rest. What stays is the program; what goes is garbage, and a report can say "
   "why each function stayed and what it cost."},
  {"weak symbols",
   "A weak definition is a default. If another object defines the same symbol "
   "strongly, the strong definition wins and the weak one is dropped without a "
   "word. Libraries use weak definitions for hooks: a default error handler, a "
   "default allocator, a default hash function. A program that wants a different "
   "behaviour defines the hook itself and the linker picks it. A weak reference is "
   "different: it names a symbol that may be missing. When nothing defines it, its "
   "address is zero, and the code that uses it checks for zero before it calls. "
   "Weak symbols make optional features cheap, but they also make mistakes quiet: "
   "a typo in the name of a hook means the default runs and nobody is told."},
  {"constructors",
   "Constructors run before main. C has no constructors of its own, but compilers "
   "let a function be marked to run at start-up, with a priority that orders it "
   "among the others. Lower numbers run first. A library builds its tables in a "
   "constructor of low priority, and a program that registers its own entries in "
   "those tables uses a higher one, so the tables exist when the program's "
   "constructor runs. The linker collects every constructor of every object it "
   "loaded, sorts them by priority and keeps the order of the inputs among equal "
   "priorities, and writes one function that calls them all. The start-up code "
   "calls that function first, then main, then exit with the status main returned. "
   "Exit flushes the buffers of standard output, so a program that printed with "
   "printf and returned from main shows all of its output, in order, every time."},
  {"numbers",
   "In 1990 there were 3 linkers on the machine, in 2000 there were 7, and in 2024 "
   "the count was 12 again; 12 is not 7 and 7 is not 3. Don't count twice. "
   "It's the linker's job, isn't it? Wasm32 has 32-bit pointers and 64-bit integers."},
};

const int text_count = sizeof texts / sizeof texts[0];
