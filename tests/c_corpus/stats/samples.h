#define N_SAMPLES 2000
extern double heights[N_SAMPLES], weights[N_SAMPLES], waits[N_SAMPLES];
