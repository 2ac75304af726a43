// Real inputs (data.inputs) as a resolved configuration records them, without
// reading the files: what tsgd merge and join need of them (each point's test
// set size, whether the files have labels, N, the training set's size), so that
// results merge on a machine or in a copied directory without the data files.
// The work units' fingerprints carry the files' hashes (config.json's
// "data_files"): a unit of runs on other files is refused there.
#pragma once

#include "experiment/config.h"

namespace tsgd {

// For E read from a resolved configuration (parse_experiment of a config.json
// that tsgd wrote): puts on every grid point an InputSet without rows that
// holds N, train_count (the largest data.train_size: the rows the runs used),
// test_count (data.test_size) and whether there are labels. Such a set is for
// the results' writers only; never give it to an engine. Nothing for Gaussian
// inputs. Throws ConfigError naming the key when the configuration lacks one
// that tsgd records (model.N, data.train_size, data.test_size).
void describe_recorded_inputs(Experiment& e);

}  // namespace tsgd
