#!/bin/sh
# inspect-pipeline @VERSION@: offline install. Makes a venv and installs from the wheels folder beside this
# script (pip install --no-index --find-links), never from the internet.
# Usage: sh install.sh [target folder]   (default: the "venv" folder beside this script)
set -u
here=$(cd "$(dirname "$0")" && pwd)
venv=${1:-$here/venv}
venv=${venv%/}

fail() {
    echo "$1" >&2
    exit 1
}

# a 64-bit Python @PYTHONS@ with its venv module
py=
for candidate in $(for v in @PYTHON_LIST@; do printf 'python%s ' "$v"; done) python3; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys, struct; sys.exit("{0}.{1}".format(*sys.version_info) not in "@PYTHON_LIST@".split() or struct.calcsize("P") != 8)' 2>/dev/null; then
        py=$(command -v "$candidate")
        break
    fi
done
[ -n "$py" ] || fail "未找到 64 位 Python @PYTHONS@：请先安装（见 安装说明.txt），然后重新运行本脚本。"
echo "使用的 Python：$py $("$py" -c 'import sys; print(sys.version.split()[0])')"
"$py" -c 'import venv, ensurepip' 2>/dev/null || fail "$py 缺少 venv 模块：请安装它（如 python3.11-venv）后重新运行。"

if [ ! -x "$venv/bin/python" ]; then
    echo "正在创建虚拟环境：$venv"
    "$py" -m venv "$venv" || fail "创建虚拟环境失败。"
fi
echo "正在从本安装包安装 @REQUIREMENT@（不联网）……"
"$venv/bin/python" -m pip install --no-index --find-links "$here/wheels" --disable-pip-version-check "@REQUIREMENT@" \
    || fail "安装失败：请把以上全部输出发给技术支持。"
"$venv/bin/inspect-pipeline" --help >/dev/null || fail "安装后无法运行 inspect-pipeline：请把以上全部输出发给技术支持。"
echo
echo "安装完成。验证（在任一文件夹中运行，会生成“演示”文件夹）："
echo "  $venv/bin/inspect-pipeline demo --data-root 演示"
