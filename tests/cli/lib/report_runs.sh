# Hand-written run directories for the tests of `sugar report` (tests/cli/report*.sh; this folder is not
# itself a test). Source it after lib/common.sh, which sets $work.
#
# make_run DIR ACTIVATION SEED STATE TOP1... : the run directory $work/runs/DIR with config.yaml,
# status.json (state STATE) and one metrics.csv row per TOP1, epochs 1, 2, ... A TOP1 is the epoch's
# eval_top1, or EVAL/TRAIN to give its train_top1 too (else 50); train_loss is 5 - epoch.
# The config: model RUN_MODEL, data RUN_DATA, train.epochs RUN_EPOCHS, then the YAML lines in RUN_YAML;
# a test sets them after sourcing this file (not from the caller's environment).
RUN_MODEL=resnet18 RUN_DATA=cifar10 RUN_EPOCHS=4 RUN_YAML=
make_run() {
  local dir=$work/runs/$1 activation=$2 seed=$3 state=$4
  shift 4
  mkdir -p "$dir"
  printf 'name: %s\nseed: %s\nmodel: {name: %s, activation: "%s"}\ndata: {name: %s}\ntrain: {epochs: %s}\n%s' \
    "$(basename "$dir")" "$seed" "$RUN_MODEL" "$activation" "$RUN_DATA" "$RUN_EPOCHS" "$RUN_YAML" >"$dir/config.yaml"
  echo "epoch,train_loss,train_top1,eval_loss,eval_top1,eval_top5,lr,epoch_time_s,train_imgs_per_sec,eval_split" \
    >"$dir/metrics.csv"
  local epoch=1 top1 eval_top1 train_top1
  for top1 in "$@"; do
    eval_top1=${top1%%/*}
    train_top1=50.0000
    [[ $top1 != */* ]] || train_top1=${top1#*/}
    echo "$epoch,$((5 - epoch)).000000,$train_top1,1.000000,$eval_top1,99.0000,0.1,1.000,100.00,test" \
      >>"$dir/metrics.csv"
    epoch=$((epoch + 1))
  done
  echo "{\"state\": \"$state\"}" >"$dir/status.json"
}
