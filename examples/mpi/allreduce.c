/* allreduce.c - an MPI check: every rank contributes rank+1, rank 0 verifies the sum and
 * names the hosts that took part.  Exits non-zero on a wrong sum.
 *
 *   mpicc -o allreduce allreduce.c && mpirun -np 4 ./allreduce
 *   -> allreduce ok: sum=10 over 4 ranks on algo-1,algo-2,algo-3,algo-4
 *
 * --fail-rank N (a hyperparameter fail-rank=N in script mode): rank N kills itself with
 * SIGKILL before the allreduce, to see a rank's death fail the whole job.
 */
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	char name[MPI_MAX_PROCESSOR_NAME] = {0}, *all = NULL;
	long mine, sum = 0, want;
	int rank, size, len, ok = 1;

	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	MPI_Get_processor_name(name, &len);
	for (int i = 1; i + 1 < argc; i++)
		if (!strcmp(argv[i], "--fail-rank") && atoi(argv[i + 1]) == rank)
			raise(SIGKILL);

	mine = rank + 1;
	MPI_Allreduce(&mine, &sum, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
	if (rank == 0)
		all = calloc((size_t)size, MPI_MAX_PROCESSOR_NAME);
	MPI_Gather(name, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, all, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, 0,
		   MPI_COMM_WORLD);

	want = (long)size * (size + 1) / 2;
	if (rank == 0) {
		if (sum == want) {
			printf("allreduce ok: sum=%ld over %d ranks on ", sum, size);
			for (int i = 0; i < size; i++)
				printf("%s%s", i ? "," : "",
				       all + (size_t)i * MPI_MAX_PROCESSOR_NAME);
			printf("\n");
		} else {
			fprintf(stderr, "allreduce FAILED: sum=%ld, expected %ld over %d ranks\n",
				sum, want, size);
			ok = 0;
		}
		fflush(stdout);
		free(all);
	}
	MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
	MPI_Finalize();
	return ok ? 0 : 1;
}
