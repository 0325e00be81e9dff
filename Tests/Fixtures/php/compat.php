<?php
// PHP 8 compatibility for Net_Vpopmaild (which predates it): the functions PHP 7 and 8
// removed, as they behaved. Loaded with auto_prepend_file; changes nothing the client sends or
// expects. (The one removed syntax, `$line{0}`, is rewritten in the test copy by
// scripts/net-vpopmaild-tests.sh.)
if (!function_exists('each')) {
    function each(array &$array) {
        $key = key($array);
        if ($key === null) {
            return false;
        }
        $value = current($array);
        next($array);
        return array(1 => $value, 'value' => $value, 0 => $key, 'key' => $key);
    }
}
if (!function_exists('ereg_replace')) {
    function ereg_replace($pattern, $replacement, $string) {
        return preg_replace('#' . str_replace('#', '\#', $pattern) . '#', $replacement, $string);
    }
}
if (!function_exists('split')) {
    function split($pattern, $string, $limit = -1) {
        return preg_split('#' . str_replace('#', '\#', $pattern) . '#', $string, $limit);
    }
}
