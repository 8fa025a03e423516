@echo off
rem inspect-pipeline @VERSION@: offline install. Makes a venv and installs from the wheels folder beside this
rem script (pip install --no-index --find-links), never from the internet.
rem Usage: install.bat [target folder]   (default: the "venv" folder beside this script)
rem Written in GBK with CRLF: cmd.exe on Chinese Windows reads code page 936.
setlocal
set "HERE=%~dp0"
set "VENV=%~1"
if "%VENV%"=="" set "VENV=%HERE%venv"
if "%VENV:~-1%"=="\" set "VENV=%VENV:~0,-1%"

rem a 64-bit Python @PYTHONS@: the py launcher first (python.org installs it), then python on PATH
set "PY="
for %%V in (@PYTHON_LIST@) do if not defined PY py -%%V-64 -c "pass" >nul 2>&1 && set "PY=py -%%V-64"
if not defined PY python -c "import sys, struct; sys.exit('{0}.{1}'.format(*sys.version_info) not in '@PYTHON_LIST@'.split() or struct.calcsize('P') != 8)" >nul 2>&1 && set "PY=python"
if not defined PY goto nopython
echo 使用的 Python：
%PY% -c "import sys; print(sys.executable, sys.version.split()[0])"

if exist "%VENV%\Scripts\python.exe" goto install
echo 正在创建虚拟环境：%VENV%
%PY% -m venv "%VENV%" || goto fail

:install
echo 正在从本安装包安装 @REQUIREMENT@（不联网）……
"%VENV%\Scripts\python.exe" -m pip install --no-index --find-links "%HERE%wheels" --disable-pip-version-check "@REQUIREMENT@" || goto fail
"%VENV%\Scripts\inspect-pipeline.exe" --help >nul || goto fail
echo.
echo 安装完成。验证（在任一文件夹中运行，会生成“演示”文件夹）：
echo   "%VENV%\Scripts\inspect-pipeline.exe" demo --data-root 演示
echo.
pause
exit /b 0

:nopython
echo 未找到 64 位 Python @PYTHONS@。
echo 请先从 python.org 下载并安装 Python @PYTHON_MIN@～@PYTHON_MAX@ 的 64 位安装程序（Windows installer 64-bit），
echo 安装时勾选“Add python.exe to PATH”，然后重新运行本脚本。详见 安装说明.txt。
pause
exit /b 1

:fail
echo.
echo 安装失败：请把本窗口中的全部文字发给技术支持。
pause
exit /b 1
