#!/bin/bash
# User strings are argv, never shell input.
. "$(dirname "$0")/lib.sh"
test_require PYTHON

evil='a b "c" '"'"'d'"'"' ;rm -rf / $(touch pwned) `touch pwned`'

test_expect_success 'a hyperparameter with spaces, quotes and ;rm -rf / is one argument' '
	sagerun train --backend process --name evil --source-dir "$SR_SOURCE_DIR/tests/e2e/fixtures" \
		--entry-point argv.py --hp "evil=$evil" --output out >stdout 2>stderr &&
	tar -xzf out/evil/output/model.tar.gz argv-algo-1.json &&
	EVIL="$evil" python3 -c "import json,os,sys; a=json.load(open(\"argv-algo-1.json\")); sys.exit(0 if a==[\"--evil\", os.environ[\"EVIL\"]] else print(a) or 1)"
'

test_expect_success 'and nothing ran' '
	find "$TRASH" -name pwned >found &&
	test ! -s found
'

test_expect_success 'a command after -- runs with its arguments as given' '
	sagerun train --backend process --name cmd --output out -- python3 "$SR_SOURCE_DIR/tests/e2e/fixtures/argv.py" "$evil" "" x >stdout 2>stderr &&
	tar -xzf out/cmd/output/model.tar.gz argv-algo-1.json &&
	EVIL="$evil" python3 -c "import json,os,sys; a=json.load(open(\"argv-algo-1.json\")); sys.exit(0 if a==[os.environ[\"EVIL\"], \"\", \"x\"] else print(a) or 1)" &&
	find "$TRASH" -name pwned >found &&
	test ! -s found
'

test_expect_success 'a .sh entry point runs with /bin/sh and gets the hyperparameters' '
	mkdir -p src && printf "echo \"args:\$*\" >\"\$SM_MODEL_DIR/args\"\n" >src/run.sh &&
	sagerun train --backend process --name shell --source-dir src --entry-point run.sh --hp kk=v --output out \
		>stdout 2>stderr &&
	tar -xzOf out/shell/output/model.tar.gz args >args &&
	echo "args:--kk v" >expect &&
	test_cmp expect args
'

test_expect_success 'a .sh entry point with a #! line runs with its own interpreter' '
	mkdir -p bsrc && printf "#!/bin/bash\na=(\"\$@\"); echo \"n=\${#a[@]} last=\${a[1]}\" >\"\$SM_MODEL_DIR/args\"\n" >bsrc/run.sh &&
	sagerun train --backend process --name bash --source-dir bsrc --entry-point run.sh --hp kk="a b" --output out \
		>stdout 2>stderr &&
	tar -xzOf out/bash/output/model.tar.gz args >args &&
	echo "n=2 last=a b" >expect &&
	test_cmp expect args
'

test_expect_success 'an entry point without --source-dir is copied alone into code/' '
	mkdir -p lone && cp "$SR_SOURCE_DIR/tests/e2e/fixtures/argv.py" lone/ && echo junk >lone/other &&
	sagerun train --backend process --name lone --entry-point lone/argv.py --output out >stdout 2>stderr &&
	ls "$SAGERUN_HOME/jobs/lone/hosts/algo-1/opt/ml/code" >ls.out &&
	echo argv.py >expect &&
	test_cmp expect ls.out
'

test_done
